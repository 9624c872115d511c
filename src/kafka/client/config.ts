/**
 * How Tributary reaches an existing Kafka cluster (`broker.external` in `tributary.config.ts`):
 * the bootstrap brokers, SASL and TLS. One zod schema checks it wherever it comes from (the
 * config file, or code calling `openBus`), so a bad field is reported with its path.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { z } from 'zod';
import { ConfigError } from '../../util/errors.ts';
import { bool, got, num, obj, oneOf, problemsFromIssues, str } from '../../util/schema.ts';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface ExternalSaslConfig {
  /** `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`. */
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

export interface ExternalTlsConfig {
  /** PEM certificate(s) of the authority that signed the brokers' certificates (default: the system's). */
  ca?: string | string[];
  /** PEM client certificate and key, for mutual TLS. */
  cert?: string;
  key?: string;
  passphrase?: string;
  /** Host name checked against the broker certificate (default: the host connected to). */
  servername?: string;
  /** Verify the brokers' certificates (default true; false only for tests). */
  rejectUnauthorized?: boolean;
}

/**
 * An existing Kafka cluster (Apache Kafka, Redpanda, MSK, …) that Tributary uses instead of its
 * embedded log.
 *
 * @example
 * ```ts
 * broker: {
 *   external: {
 *     brokers: ['kafka-1.internal:9092', 'kafka-2.internal:9092'],
 *     sasl: { mechanism: 'SCRAM-SHA-512', username: 'tributary', password: process.env.KAFKA_PASSWORD! },
 *     ssl: true,
 *   },
 * }
 * ```
 */
export interface ExternalClusterConfig {
  /** Bootstrap brokers as `host:port`; the rest of the cluster is discovered from them. */
  brokers: string[];
  /** Client id sent with every request (default `tributary`). */
  clientId?: string;
  sasl?: ExternalSaslConfig;
  /** `true` for TLS with the system's authorities, or TLS settings. */
  ssl?: boolean | ExternalTlsConfig;
  /** Replication factor of topics Tributary creates (default: the cluster's `default.replication.factor`). */
  replicationFactor?: number;
  /** Milliseconds to wait for a connection (default 10 000). */
  connectTimeoutMs?: number;
  /** Milliseconds to wait for a response (default 30 000). */
  requestTimeoutMs?: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

const brokerAddress = z
  .string({ error: (iss) => `expected "host:port"${got(iss.input)}` })
  .refine((s) => {
    const m = HOST_PORT.exec(s);
    return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
  }, { error: (iss) => `expected "host:port" with a port from 1 to 65535${got(iss.input)}` });

const pem = (what: string) => str(`a PEM ${what}`);
const TLS_KEYS = ['ca', 'cert', 'key', 'passphrase', 'servername', 'rejectUnauthorized'];

export const externalClusterSchema = obj({
  brokers: z
    .array(brokerAddress, { error: (iss) => `expected a list of "host:port" bootstrap brokers${got(iss.input)}` })
    .min(1, { error: 'expected at least one bootstrap broker "host:port"' }),
  clientId: str('a client id').optional(),
  sasl: obj({
    mechanism: oneOf(SASL_MECHANISMS),
    username: str('a user name'),
    password: z.string({ error: (iss) => `expected a password string${got(iss.input)}` }),
  }).optional(),
  // The settings object comes first: when a union fails, the first option's problems are reported.
  ssl: z
    .union([
      z.strictObject(
        {
          ca: z.union([pem('certificate'), z.array(pem('certificate'))], { error: (iss) => `expected a PEM certificate or a list of them${got(iss.input)}` }).optional(),
          cert: pem('certificate').optional(),
          key: pem('private key').optional(),
          passphrase: z.string({ error: (iss) => `expected a string${got(iss.input)}` }).optional(),
          servername: str('a host name').optional(),
          rejectUnauthorized: bool().optional(),
        },
        {
          error: (iss) =>
            iss.code === 'unrecognized_keys'
              ? `unknown TLS ${iss.keys.length === 1 ? 'setting' : 'settings'} ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}; known: ${TLS_KEYS.map((k) => JSON.stringify(k)).join(', ')}`
              : `expected true, false or TLS settings { ca, cert, key, … }${got(iss.input)}`,
        },
      ),
      bool(),
    ])
    .optional(),
  replicationFactor: num({ int: true, min: 1, max: 32767 }).optional(),
  connectTimeoutMs: num({ int: true, min: 1 }).optional(),
  requestTimeoutMs: num({ int: true, min: 1 }).optional(),
});

/**
 * Checks an external cluster config given in code; throws ConfigError naming the bad field
 * (`broker.external.brokers[0]: expected "host:port" …`).
 */
export function parseExternalClusterConfig(value: unknown, path = 'broker.external'): ExternalClusterConfig {
  const result = externalClusterSchema.safeParse(value);
  if (result.success) return result.data;
  const problem = problemsFromIssues(result.error.issues)[0]!;
  const where = problem.path ? `${path}.${problem.path}`.replace('.[', '[') : path;
  throw new ConfigError(where, problem.message);
}

/** `host:port` (IPv6 hosts in brackets) → `{ host, port }`. */
export function bootstrapAddresses(config: ExternalClusterConfig): Array<{ host: string; port: number }> {
  return config.brokers.map((b) => {
    const m = HOST_PORT.exec(b);
    if (!m) throw new ConfigError('broker.external.brokers', `expected "host:port", got ${JSON.stringify(b)}`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
  });
}

export function tlsOptions(ssl: ExternalClusterConfig['ssl']): TlsOptions | undefined {
  if (!ssl) return undefined;
  if (ssl === true) return {};
  const out: TlsOptions = {};
  if (ssl.ca !== undefined) out.ca = ssl.ca;
  if (ssl.cert !== undefined) out.cert = ssl.cert;
  if (ssl.key !== undefined) out.key = ssl.key;
  if (ssl.passphrase !== undefined) out.passphrase = ssl.passphrase;
  if (ssl.servername !== undefined) out.servername = ssl.servername;
  if (ssl.rejectUnauthorized !== undefined) out.rejectUnauthorized = ssl.rejectUnauthorized;
  return out;
}
