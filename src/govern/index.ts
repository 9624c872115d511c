/** Governance: authorization and audit (the seam every access passes), later catalog, schemas, lineage, quality. */
export { Governance, AccessDeniedError, ANONYMOUS, servicePrincipal, type Principal, type Action, type Resource, type ResourceType, type AuditEvent, type AuthorizeFn } from './access.ts';
