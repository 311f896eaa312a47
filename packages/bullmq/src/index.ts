/**
 * Distributed identify-face: API nodes accept and answer, workers anywhere run the analyses, and
 * Redis holds the tasks, uploads, screenshots and idempotency keys; BullMQ hands runs to workers.
 *
 * @since 0.1.0
 */
export * as BullmqTaskQueue from "./BullmqTaskQueue.js"
export * as Distributed from "./Distributed.js"
export * as RedisArtifactStore from "./RedisArtifactStore.js"
export * as RedisConnection from "./RedisConnection.js"
export * as RedisIdempotencyStore from "./RedisIdempotencyStore.js"
export * as RedisTaskStore from "./RedisTaskStore.js"
export * as RedisVideoStore from "./RedisVideoStore.js"
export * as RedisWebhookOutbox from "./RedisWebhookOutbox.js"
export * as Worker from "./Worker.js"
