/**
 * What happens when a task ends. The engine checks a task's `callback_url` when it is created,
 * and the runner (or the engine, for a cancel) tells the notifier after the final write of a
 * task that ended completed, failed or cancelled.
 *
 * The default checks callback URLs against the SSRF rules and sends nothing; `Webhooks.layer`
 * delivers them. It is a `Context.Reference`, so an engine or runner built without one keeps its
 * requirements and uses the default.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import { checkUrl } from "./AddressGuard.js"
import type { VideoUrlRefusedError } from "./Errors.js"
import type { FinishedTask } from "./Task.js"

/** Hears of tasks that end. */
export interface TaskNotifierService {
  /** Checks a `callback_url` when its task is created; a refused one fails the create (400, 014002104). */
  readonly checkCallbackUrl: (url: string) => Either.Either<URL, VideoUrlRefusedError>
  /** Hears of a task that ended. Returns at once and never fails: the task is final already. */
  readonly finished: (task: FinishedTask) => Effect.Effect<void>
}

/**
 * Checks a `callback_url` with the rules of `video_url` (http or https, no credentials, no
 * private address or local name); `allowHost` opens the guard for tests on loopback.
 */
export const checkCallbackUrl = (url: string, allowHost?: (host: string) => boolean): Either.Either<URL, VideoUrlRefusedError> =>
  checkUrl(url, allowHost, "callback_url")

/** Checks callback URLs and sends nothing: the notifier of a server without webhooks. */
export const silent: TaskNotifierService = {
  checkCallbackUrl: (url) => checkCallbackUrl(url),
  finished: () => Effect.void
}

/** The notifier in use; {@link silent} unless one is provided. */
export class TaskNotifier extends Context.Reference<TaskNotifier>()("@identify-face/core/TaskNotifier", {
  defaultValue: () => silent
}) {}
