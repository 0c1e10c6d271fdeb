import type { NatsConnection } from '@nats-io/transport-node';

/** NATS_REPLICAS: `auto`, or a number that forces it. */
export type ReplicasSetting = 'auto' | number;

/** What `auto` grows to: 3 replicas keep a majority through the loss of one server; more only slow writes. */
const AUTO_REPLICAS_AT_MOST = 3;

/**
 * The servers of the cluster the connection is in, as its server's INFO tells them: 1 for a server
 * outside a cluster, else the client URLs the cluster gossips (its own among them). A server that
 * is down at that moment is not counted.
 */
export function clusterSize(nc: NatsConnection): number {
  const { cluster, connect_urls: urls = [] } = nc.info ?? {};
  return cluster ? Math.max(1, new Set(urls).size) : 1;
}

/** The replicas streams and buckets get: `auto` is as many as the cluster has servers, up to 3. */
export function resolveReplicas(setting: ReplicasSetting, nc: NatsConnection): number {
  return setting === 'auto' ? Math.min(AUTO_REPLICAS_AT_MOST, clusterSize(nc)) : setting;
}
