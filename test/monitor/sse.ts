/** Reads Server-Sent Events from a URL until `want` returns true (or the deadline passes). */
export interface SseEvent {
  event: string;
  data: string;
}

export async function readEvents(url: string, want: (events: SseEvent[]) => boolean, timeoutMs = 20_000): Promise<SseEvent[]> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(url, { signal: ctl.signal, headers: { accept: 'text/event-stream' } });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length) events.push({ event, data: data.join('\n') });
      }
      if (want(events)) break;
    }
    return events;
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new Error(`${url}: the expected events did not arrive within ${timeoutMs} ms; got ${JSON.stringify(events).slice(0, 500)}`);
    throw err;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
}
