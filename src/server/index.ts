export { createHttpApp, DEFAULT_MAX_BODY_BYTES, type HttpApp, type HttpAppOptions, type PartState, type PartStatus } from './app.ts';
export { startHttpServer, type HttpServerOptions, type RunningHttpServer } from './listen.ts';
export { HttpError, type HttpErrorCode, type ErrorBody } from './errors.ts';
export { ConsumerInstances, type ConsumerInstanceSpec, type ConsumerInstanceInfo } from './consumer-instances.ts';
export type { JsonRecord, JsonHeader } from './records.ts';
