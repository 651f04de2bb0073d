import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * Every message of the protocol: its type name, its body schema and its size cap.
 * Bodies are closed (`additionalProperties: false`): an unknown field is an error, not ignored,
 * so two hubs never disagree about what a signed message said. docs/PROTOCOL.md explains each.
 */

export const PROTOCOL_VERSION = 1;

const closed = { additionalProperties: false } as const;

export const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$', description: '32 bytes, lower-case hex' });
export const PublicKeyHex = Hex32;
/** sha256 content ids: tasks, assignments, envelopes. */
export const ContentId = Hex32;
export const NodeId = Type.String({ pattern: '^[0-9a-f]{32}$', description: 'node id: first 16 bytes of sha256("dcloud-node-id\\n" || public key), hex' });
export const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 2_000_000 });

export const Resources = Type.Object(
  {
    cpu: Type.Number({ minimum: 0, maximum: 4096, description: 'CPU cores' }),
    ramGb: Type.Number({ minimum: 0, maximum: 65536, description: 'RAM in GB' }),
  },
  closed,
);
export type Resources = Static<typeof Resources>;

/** A signed envelope as it travels: the canonical payload text and its signature. */
export const Envelope = Type.Object(
  {
    payload: Type.String({ minLength: 2 }),
    sig: Type.String({ pattern: '^[0-9a-f]{128}$' }),
  },
  closed,
);
export type Envelope = Static<typeof Envelope>;

export const TaskSpecBody = Type.Object(
  {
    image: Type.String({ minLength: 1, maxLength: 512, pattern: '^[^\\s]+$' }),
    command: Type.Array(Type.String({ maxLength: 4096 }), { minItems: 1, maxItems: 256 }),
    cpu: Type.Number({ exclusiveMinimum: 0, maximum: 1024 }),
    ramGb: Type.Number({ exclusiveMinimum: 0, maximum: 65536 }),
    minTrust: Type.Number({ minimum: 0, maximum: 10 }),
    overlap: Type.Integer({ minimum: 1, maximum: 64 }),
    timeoutS: Type.Integer({ minimum: 1, maximum: 86_400 }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    /** True when the image needs registry credentials; they travel beside the envelope, never inside. */
    privateRegistry: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type TaskSpecBody = Static<typeof TaskSpecBody>;

/** What an agent needs to run one replica: no trust, overlap or description. */
export const ExecutionSpec = Type.Object(
  {
    image: TaskSpecBody.properties.image,
    command: TaskSpecBody.properties.command,
    cpu: TaskSpecBody.properties.cpu,
    ramGb: TaskSpecBody.properties.ramGb,
    timeoutS: TaskSpecBody.properties.timeoutS,
  },
  closed,
);
export type ExecutionSpec = Static<typeof ExecutionSpec>;

export const MessageBodies = {
  'agent.register': Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 64 }),
      resources: Resources,
      software: Type.String({ maxLength: 64 }),
      /**
       * Optional registration proof of work (protocol/pow.ts): a nonce whose hash with the hub's
       * `challenge` (GET /v1/agents/challenge) and the key has `bits` leading zero bits.
       */
      pow: Type.Optional(
        Type.Object(
          { nonce: Type.String({ maxLength: 64 }), bits: Type.Integer({ minimum: 0, maximum: 64 }), challenge: Type.Optional(Type.String({ maxLength: 128 })) },
          closed,
        ),
      ),
    },
    closed,
  ),
  'agent.heartbeat': Type.Object(
    {
      total: Resources,
      free: Resources,
      running: Type.Array(ContentId, { maxItems: 64 }),
    },
    closed,
  ),
  'work.request': Type.Object(
    {
      free: Resources,
    },
    closed,
  ),
  assignment: Type.Object(
    {
      assignmentId: ContentId,
      taskId: ContentId,
      agent: NodeId,
      spec: ExecutionSpec,
      issuedAt: Type.Integer({ minimum: 0 }),
      deadline: Type.Integer({ minimum: 0 }),
      /** The issuing hub's log sequence number when the assignment is federated (docs/PROTOCOL.md 10.9). */
      seq: Type.Optional(Type.Integer({ minimum: 1 })),
    },
    closed,
  ),
  result: Type.Object(
    {
      assignmentId: ContentId,
      taskId: ContentId,
      outcome: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
      exitCode: Type.Union([Type.Integer(), Type.Null()]),
      /** sha256 over the result's deciding content (see docs/PROTOCOL.md), null when outcome is "error". */
      digest: Type.Union([ContentId, Type.Null()]),
      stdout: Base64,
      stderr: Base64,
      truncated: Type.Boolean(),
      durationMs: Type.Integer({ minimum: 0 }),
      error: Type.Optional(Type.String({ maxLength: 2048 })),
    },
    closed,
  ),
  'task.spec': TaskSpecBody,
  'task.announce': Type.Object(
    {
      task: Envelope,
      home: NodeId,
      seq: Type.Integer({ minimum: 1 }),
    },
    closed,
  ),
  decision: Type.Object(
    {
      taskId: ContentId,
      seq: Type.Integer({ minimum: 1 }),
      outcome: Type.Union([Type.Literal('validated'), Type.Literal('failed')]),
      policy: Type.String({ maxLength: 64 }),
      digest: Type.Union([ContentId, Type.Null()]),
      /** Share of the deciding weight behind the winning digest, 0..1. */
      score: Type.Number({ minimum: 0, maximum: 1 }),
      results: Type.Array(Envelope, { maxItems: 128 }),
      trust: Type.Array(
        Type.Object({ agent: NodeId, before: Type.Number(), after: Type.Number() }, closed),
        { maxItems: 128 },
      ),
      /** Credibility policy: each voter's log-odds (its verified record) as the decider weighed it. */
      credibility: Type.Optional(Type.Array(Type.Object({ agent: NodeId, logOdds: Type.Number({ minimum: 0 }) }, closed), { maxItems: 128 })),
    },
    closed,
  ),
  /**
   * A hub's word on tasks it decides that wait for agents (docs/FEDERATION.md): each `pending` or
   * `in_queue` at `round`, so every hub shows the status its decider shows. A log entry; one per
   * batch of changes. Signed by a hub that outranks a task's decider, it is that hub's claim on
   * the task (a takeover, logged at once).
   */
  'task.status': Type.Object(
    {
      tasks: Type.Array(
        Type.Object(
          {
            taskId: ContentId,
            /** `in_progress`: no status to show, only a takeover's claim (docs/FEDERATION.md, section 8). */
            status: Type.Union([Type.Literal('pending'), Type.Literal('in_queue'), Type.Literal('in_progress')]),
            round: Type.Integer({ minimum: 0 }),
          },
          closed,
        ),
        { minItems: 1, maxItems: 1000 },
      ),
      seq: Type.Integer({ minimum: 1 }),
    },
    closed,
  ),
  'sync.request': Type.Object(
    {
      origin: NodeId,
      after: Type.Integer({ minimum: 0 }),
      limit: Type.Integer({ minimum: 1, maximum: 10_000 }),
    },
    closed,
  ),
  'sync.response': Type.Object(
    {
      origin: NodeId,
      entries: Type.Array(Envelope, { maxItems: 10_000 }),
      more: Type.Boolean(),
    },
    closed,
  ),
} satisfies Record<string, TSchema>;

export type MessageType = keyof typeof MessageBodies;
export type MessageBody<T extends MessageType> = Static<(typeof MessageBodies)[T]>;
export const MESSAGE_TYPES = Object.keys(MessageBodies) as MessageType[];

/** Size caps on the payload text, in bytes of UTF-8. Larger envelopes are refused before parsing. */
export const DEFAULT_MAX_PAYLOAD_BYTES: Record<MessageType, number> = {
  'agent.register': 4 * 1024,
  'agent.heartbeat': 8 * 1024,
  'work.request': 2 * 1024,
  assignment: 64 * 1024,
  result: 1024 * 1024,
  'task.spec': 256 * 1024,
  'task.announce': 260 * 1024,
  decision: 8 * 1024 * 1024,
  'task.status': 160 * 1024,
  'sync.request': 2 * 1024,
  'sync.response': 16 * 1024 * 1024,
};

export function isMessageType(value: unknown): value is MessageType {
  return typeof value === 'string' && Object.hasOwn(MessageBodies, value);
}
