/** The client side of the Kafka protocol: Tributary talking to an existing Kafka cluster. */
export { KafkaCluster, sleep, type TopicMetadata, type PartitionMetadata } from './cluster.ts';
export {
  externalClusterSchema,
  parseExternalClusterConfig,
  SASL_MECHANISMS,
  type ExternalClusterConfig,
  type ExternalSaslConfig,
  type ExternalTlsConfig,
  type SaslMechanism,
} from './config.ts';
export { KafkaClientError, KafkaCode, errorForKafkaCode, kafkaCodeOf, translateKafkaError, type KafkaClientErrorCode } from './errors.ts';
export { decodeFetchedBatches, type FetchedBatch } from './records.ts';
