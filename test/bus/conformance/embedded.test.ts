/** The bus conformance suite on the embedded bus (in-process log). */
import { openEmbeddedBus } from '../../../src/bus/index.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { busConformance } from './suite.ts';

busConformance('embedded', async () => {
  const { dir, cleanup } = tempDir('tributary-conformance-');
  const bus = await openEmbeddedBus({ dataDir: dir, autoCreateTopics: false, log: { maintenanceIntervalMs: 0 } });
  return {
    bus,
    cleanup: async () => {
      await bus.close();
      cleanup();
    },
  };
});
