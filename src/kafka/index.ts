/** The Kafka protocol: any Kafka client can talk to Tributary (server), and Tributary to any Kafka cluster (client, later). */
export { startKafkaServer, type KafkaServerOptions, type RunningKafkaServer } from './server/kafka-server.ts';
export { APIS, ApiKey } from './protocol/apis.ts';
export { encodeRequest, decodeRequest, encodeResponse, decodeResponse } from './protocol/frames.ts';
