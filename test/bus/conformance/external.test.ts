/** The bus conformance suite on the external bus, talking Kafka over TCP to a Tributary broker. */
import { openExternalBus } from '../../../src/bus/index.ts';
import { startTestBroker } from '../../helpers/kafka-broker.ts';
import { busConformance } from './suite.ts';

busConformance('external (Kafka protocol over TCP)', async () => {
  const broker = await startTestBroker({ autoCreateTopics: false });
  try {
    const bus = await openExternalBus({ cluster: { brokers: [broker.bootstrap], clientId: 'conformance' }, autoCreateTopics: false });
    return {
      bus,
      cleanup: async () => {
        await bus.close();
        await broker.close();
      },
    };
  } catch (err) {
    await broker.close();
    throw err;
  }
});
