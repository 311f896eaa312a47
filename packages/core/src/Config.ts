/**
 * The service's settings, with the defaults of API.md. Validated when the layer is built, so a
 * wrong setting fails at start-up with a message that names it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"

/** The settings a server runs with. */
export interface IdentifyFaceConfig {
  /** Tasks analysed at once. */
  readonly concurrency: number
  /** A task running longer than this fails with 014002099. */
  readonly taskTimeout: Duration.Duration
  /** How long a session (task, upload, screenshots) lives. API.md: 24 hours. */
  readonly sessionTtl: Duration.Duration
  /** The largest video, uploaded or fetched. API.md: 100 MB. */
  readonly maxVideoBytes: number
  /** The largest JSON request body. */
  readonly maxJsonBytes: number
  /** The longest wait for the next chunk of a request body; a body that stalls longer is 408. */
  readonly bodyIdleTimeout: Duration.Duration
  /** The longest a whole request body may take to arrive (an upload included); past it, 408. */
  readonly bodyTimeout: Duration.Duration
  /**
   * The origin (and path prefix) screenshot URLs start with, e.g. `https://api.example.com`. Unset:
   * the origin of the request that reads the task, with the mount path.
   */
  readonly publicUrl: string | undefined
  /** The poll interval the server suggests in `X-Poll-After-Ms`, the shortest when it paces polls. */
  readonly pollHint: Duration.Duration
  /**
   * Polls a second of unfinished tasks the server aims for in all: past it, the suggested
   * interval grows so that clients that follow it poll less (see `PollPacer`). Unset: the
   * suggestion is always `pollHint`.
   */
  readonly pollBudget: number | undefined
}

/** The defaults. */
export const defaults: IdentifyFaceConfig = {
  concurrency: 1,
  taskTimeout: Duration.minutes(10),
  sessionTtl: Duration.hours(24),
  maxVideoBytes: 104_857_600,
  maxJsonBytes: 1_048_576,
  bodyIdleTimeout: Duration.seconds(30),
  // 100 MB at about 3 Mbit/s; Node's own requestTimeout (300 s by default) may cut it first.
  bodyTimeout: Duration.minutes(5),
  publicUrl: undefined,
  pollHint: Duration.seconds(1),
  pollBudget: undefined
}

/** The settings in force. */
export class Config extends Context.Tag("@identify-face/core/Config")<Config, IdentifyFaceConfig>() {}

/** Settings that were not valid; the message names the setting and what it takes. */
export class InvalidConfigError extends Error {
  override readonly name = "InvalidConfigError"
}

const positiveInteger = (name: string, value: number) => {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidConfigError(`identify-face: ${name} must be a positive integer, got ${String(value)}`)
  }
}

const positiveDuration = (name: string, value: Duration.Duration) => {
  // Checked to be a Duration first: a caller without types may pass "10 minutes" or a number.
  if (!Duration.isDuration(value) || !Duration.isFinite(value) || Duration.toMillis(value) <= 0) {
    throw new InvalidConfigError(`identify-face: ${name} must be a positive, finite duration`)
  }
}

/**
 * The defaults with `overrides` applied, checked. Throws {@link InvalidConfigError} on a wrong
 * value, so a host app learns at construction, not at the first request.
 */
export const make = (overrides: Partial<IdentifyFaceConfig> = {}): IdentifyFaceConfig => {
  const config: IdentifyFaceConfig = { ...defaults, ...overrides }
  positiveInteger("concurrency", config.concurrency)
  positiveInteger("maxVideoBytes", config.maxVideoBytes)
  positiveInteger("maxJsonBytes", config.maxJsonBytes)
  positiveDuration("taskTimeout", config.taskTimeout)
  positiveDuration("bodyIdleTimeout", config.bodyIdleTimeout)
  positiveDuration("bodyTimeout", config.bodyTimeout)
  positiveDuration("sessionTtl", config.sessionTtl)
  positiveDuration("pollHint", config.pollHint)
  if (config.pollBudget !== undefined) positiveInteger("pollBudget", config.pollBudget)
  if (config.publicUrl !== undefined) {
    const url = URL.canParse(config.publicUrl) ? new URL(config.publicUrl) : undefined
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
      throw new InvalidConfigError(`identify-face: publicUrl must be an absolute http(s) URL without query, got ${config.publicUrl}`)
    }
  }
  return config
}

/** A layer of the settings: the defaults with `overrides` applied, checked at construction. */
export const layer = (overrides: Partial<IdentifyFaceConfig> = {}): Layer.Layer<Config> =>
  Layer.succeed(Config, make(overrides))
