/**
 * Producer ids for idempotent producers: a counter persisted in the data directory in blocks,
 * so a restart never hands out an id twice (the next block starts after the last one reserved).
 */
import { writeFileAtomic, type FileSystem } from '../fs/file-system.ts';

const BLOCK = 1000;

export class ProducerIdAllocator {
  private next = 0;
  private reservedUntil = 0;
  private reserving: Promise<void> | null = null;

  private constructor(
    private readonly fs: FileSystem,
    private readonly path: string,
  ) {}

  static async open(fs: FileSystem, path: string): Promise<ProducerIdAllocator> {
    const a = new ProducerIdAllocator(fs, path);
    if (fs.exists(path)) {
      const saved = JSON.parse(fs.readFile(path).toString('utf8')) as { reservedUntil: number };
      a.next = saved.reservedUntil;
      a.reservedUntil = saved.reservedUntil;
    }
    return a;
  }

  async allocate(): Promise<number> {
    while (this.next >= this.reservedUntil) {
      this.reserving ??= (async () => {
        const until = this.reservedUntil + BLOCK;
        await writeFileAtomic(this.fs, this.path, Buffer.from(JSON.stringify({ reservedUntil: until })));
        this.reservedUntil = until;
      })().finally(() => (this.reserving = null));
      await this.reserving;
    }
    return this.next++;
  }
}
