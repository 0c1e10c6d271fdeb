/** What a drill is given: the sizes of its load and its fault (see config.ts for the full-size defaults). */
export interface Sizes {
  /** MCP clients, each recording its own pytest session, spread over the gateways. */
  agents: number;
  gateways: number;
  /** Outcomes per record_test_outcomes call (every fourth call is one record_test_outcome). */
  batch: number;
  /** Outcomes written during the projector drill (SIGKILLs every `killEveryMs`). */
  projectorOutcomes: number;
  killEveryMs: number;
  /** Outcomes written by the other drills. */
  outcomes: number;
  /** Nodes of the cluster SIGKILLed one after the other, each once the one before has rejoined. */
  clusterOutages: number;
  /** How long nats-server stays down. */
  outageMs: number;
  abandonedSessions: number;
  maxSessions: number;
  maxSessionsPerAgent: number;
  /** How much the gateway's peak RSS may grow over the second half of the abandoned sessions (the limits reached long before). */
  memoryBoundMb: number;
  stuckClients: number;
}

/** One drill's outcome: what it did, and what became of the acknowledged writes. */
export interface Row {
  drill: string;
  did: string;
  acknowledged: number;
  stored: number;
  /** Acknowledged outcomes missing from the stream or the read models: must be 0. */
  lost: number;
  /** Outcomes stored more than once in the stream or the read models: must be 0. */
  duplicated: number;
  /** From the fault until writes and reads succeed again; undefined where nothing failed over. */
  recoveryMs?: number;
  /** The drill's other checks (views equal to a fold of the stream, memory bound, …) that did not hold. */
  problems: string[];
  notes: string[];
}

export type Drill = (sizes: Sizes) => Promise<Row>;

export const passed = (row: Row) => row.lost === 0 && row.duplicated === 0 && row.problems.length === 0;
