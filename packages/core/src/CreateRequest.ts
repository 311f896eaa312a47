/**
 * The create request, normalised: whichever form it came in (flat or the gateway's
 * `input: [{ params }]`), exactly one video reference.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidParametersError, UnsupportedModelError } from "./Errors.js"
import type { VideoRef } from "./Task.js"
import { CreateTaskBody, MODEL } from "./Wire.js"

/** What a task is created with. */
export interface TaskInput {
  readonly model: typeof MODEL
  readonly video: VideoRef
  readonly callbackUrl?: string | undefined
}

const decodeBody = Schema.decodeUnknownEither(CreateTaskBody, { errors: "all", onExcessProperty: "ignore" })

const invalid = (message: string) => Either.left(new InvalidParametersError({ message }))

/**
 * Reads a parsed JSON body: the named fields must have their types, the model must be
 * `kirin_identify_face`, and exactly one of `video_id` and `video_url` must be given (at the top
 * level or in the single `input[0].params`).
 */
export const decode = (body: unknown): Either.Either<TaskInput, InvalidParametersError | UnsupportedModelError> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return invalid("the body must be a JSON object")
  const decoded = decodeBody(body)
  if (Either.isLeft(decoded)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    return invalid(issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`).join("; "))
  }
  const request = decoded.right
  if (request.model !== MODEL) {
    return Either.left(new UnsupportedModelError({ message: `model ${JSON.stringify(request.model).slice(0, 80)} is not supported; use ${MODEL}` }))
  }
  if (request.input !== undefined && request.input.length !== 1) return invalid("input must hold exactly one element")
  const params = request.input?.[0]?.params
  const ids = [request.video_id, params?.video_id].filter((value) => value !== undefined)
  const urls = [request.video_url, params?.video_url].filter((value) => value !== undefined)
  if (ids.length + urls.length !== 1) {
    return invalid(ids.length + urls.length === 0 ? "one of video_id and video_url is required" : "give exactly one of video_id and video_url")
  }
  const video: VideoRef = ids[0] !== undefined ? { _tag: "VideoId", id: ids[0] } : { _tag: "VideoUrl", url: urls[0] ?? "" }
  return Either.right({ model: MODEL, video, callbackUrl: request.callback_url })
}

/** The flat wire body of a task input: what the client sends. */
export const encode = (input: Omit<TaskInput, "model">): CreateTaskBody => ({
  model: MODEL,
  ...(input.video._tag === "VideoId" ? { video_id: input.video.id } : { video_url: input.video.url }),
  ...(input.callbackUrl === undefined ? {} : { callback_url: input.callbackUrl })
})
