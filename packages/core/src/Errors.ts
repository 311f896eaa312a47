/**
 * One tagged error per code of the wire contract. Each carries its code, the HTTP status it is
 * answered with when it refuses a request, and a message for people, so that a code is never a
 * bare string at a call site.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const fields = { message: Schema.String }

/** The analysis failed (014002095). */
export class InternalGenerationError extends Schema.TaggedError<InternalGenerationError>()("InternalGenerationError", fields) {
  readonly code = "014002095"
  readonly status = 500
}

/** A result could not be decoded (014002096). */
export class ResultParsingError extends Schema.TaggedError<ResultParsingError>()("ResultParsingError", fields) {
  readonly code = "014002096"
  readonly status = 502
}

/** Fetching `video_url` answered with an HTTP error status (014002097). */
export class VideoFetchHttpError extends Schema.TaggedError<VideoFetchHttpError>()("VideoFetchHttpError", fields) {
  readonly code = "014002097"
  readonly status = 502
}

/** The task was interrupted or timed out (014002099). */
export class TaskInterruptedError extends Schema.TaggedError<TaskInterruptedError>()("TaskInterruptedError", fields) {
  readonly code = "014002099"
  readonly status = 500
}

/** Invalid parameters: none or both ids, bad JSON, fields of the wrong type (014002101). */
export class InvalidParametersError extends Schema.TaggedError<InvalidParametersError>()("InvalidParametersError", fields) {
  readonly code = "014002101"
  readonly status = 400
}

/** The `model` is not `kirin_identify_face` (014002102). */
export class UnsupportedModelError extends Schema.TaggedError<UnsupportedModelError>()("UnsupportedModelError", fields) {
  readonly code = "014002102"
  readonly status = 400
}

/** The `video_id` is unknown, expired or another tenant's (014002103). */
export class VideoNotFoundError extends Schema.TaggedError<VideoNotFoundError>()("VideoNotFoundError", fields) {
  readonly code = "014002103"
  readonly status = 404
}

/** The `video_url` (or `callback_url`) is refused: scheme, credentials, or a private address (014002104). */
export class VideoUrlRefusedError extends Schema.TaggedError<VideoUrlRefusedError>()("VideoUrlRefusedError", fields) {
  readonly code = "014002104"
  readonly status = 400
}

/** The `video_url` could not be reached: DNS, connect or read timeout, too many redirects (014002105). */
export class VideoUrlUnreachableError extends Schema.TaggedError<VideoUrlUnreachableError>()("VideoUrlUnreachableError", fields) {
  readonly code = "014002105"
  readonly status = 502
}

/** The container is not MP4 or QuickTime (014002110). */
export class UnsupportedContainerError extends Schema.TaggedError<UnsupportedContainerError>()("UnsupportedContainerError", fields) {
  readonly code = "014002110"
  readonly status = 400
}

/** The video is larger than 100 MB (014002111); an upload refused for it is answered with 413. */
export class VideoTooLargeError extends Schema.TaggedError<VideoTooLargeError>()("VideoTooLargeError", fields) {
  readonly code = "014002111"
  readonly status = 413
}

/** The duration is not from 2 s to 60 s (014002112). */
export class DurationOutOfRangeError extends Schema.TaggedError<DurationOutOfRangeError>()("DurationOutOfRangeError", fields) {
  readonly code = "014002112"
  readonly status = 400
}

/** The shorter displayed side is neither 720 nor 1080 (014002113). */
export class UnsupportedResolutionError extends Schema.TaggedError<UnsupportedResolutionError>()("UnsupportedResolutionError", fields) {
  readonly code = "014002113"
  readonly status = 400
}

/** A displayed side is outside 512 to 2160 px (014002114). */
export class DimensionsOutOfRangeError extends Schema.TaggedError<DimensionsOutOfRangeError>()("DimensionsOutOfRangeError", fields) {
  readonly code = "014002114"
  readonly status = 400
}

/** There is no decodable video stream (014002115). */
export class UndecodableVideoError extends Schema.TaggedError<UndecodableVideoError>()("UndecodableVideoError", fields) {
  readonly code = "014002115"
  readonly status = 400
}

/** The bearer key is missing or wrong (401). */
export class UnauthorizedError extends Schema.TaggedError<UnauthorizedError>()("UnauthorizedError", fields) {
  readonly code = "401"
  readonly status = 401
}

/** No such task, file or route for this tenant (404). */
export class NotFoundError extends Schema.TaggedError<NotFoundError>()("NotFoundError", fields) {
  readonly code = "404"
  readonly status = 404
}

/** The method is not allowed on this path (405). */
export class MethodNotAllowedError extends Schema.TaggedError<MethodNotAllowedError>()("MethodNotAllowedError", fields) {
  readonly code = "405"
  readonly status = 405
}

/** A request body stalled or took too long to arrive (408); the connection is closed after the answer. */
export class RequestTimeoutError extends Schema.TaggedError<RequestTimeoutError>()("RequestTimeoutError", fields) {
  readonly code = "408"
  readonly status = 408
}

/** The task has already finished and cannot be cancelled (409). */
export class ConflictError extends Schema.TaggedError<ConflictError>()("ConflictError", fields) {
  readonly code = "409"
  readonly status = 409
}

/** A request body is larger than its route allows (413). */
export class PayloadTooLargeError extends Schema.TaggedError<PayloadTooLargeError>()("PayloadTooLargeError", fields) {
  readonly code = "413"
  readonly status = 413
}

/** The `Content-Type` is not one this route reads (415). */
export class UnsupportedMediaTypeError extends Schema.TaggedError<UnsupportedMediaTypeError>()("UnsupportedMediaTypeError", fields) {
  readonly code = "415"
  readonly status = 415
}

/** The `Idempotency-Key` was used before with another body (422). */
export class IdempotencyMismatchError extends Schema.TaggedError<IdempotencyMismatchError>()("IdempotencyMismatchError", fields) {
  readonly code = "422"
  readonly status = 422
}

/** Too many requests for this key; retry after `retryAfterSeconds` (429). */
export class RateLimitedError extends Schema.TaggedError<RateLimitedError>()("RateLimitedError", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  readonly code = "429"
  readonly status = 429
}

/**
 * The server did not answer as the wire contract says: a transport failure or an unexpected
 * status. Raised by the client only.
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {
  readonly code = "transport"
}

/** The errors a video check or the analysis ends a task with. */
export type VideoError =
  | VideoNotFoundError
  | VideoUrlRefusedError
  | VideoUrlUnreachableError
  | VideoFetchHttpError
  | UnsupportedContainerError
  | VideoTooLargeError
  | DurationOutOfRangeError
  | UnsupportedResolutionError
  | DimensionsOutOfRangeError
  | UndecodableVideoError

/** Every error a task can end `failed` with. */
export type TaskError = VideoError | InternalGenerationError | ResultParsingError | TaskInterruptedError

/** Every error the HTTP API answers a request with. */
export type RequestError =
  | InvalidParametersError
  | UnsupportedModelError
  | VideoNotFoundError
  | VideoUrlRefusedError
  | VideoTooLargeError
  | UnauthorizedError
  | NotFoundError
  | MethodNotAllowedError
  | RequestTimeoutError
  | ConflictError
  | PayloadTooLargeError
  | UnsupportedMediaTypeError
  | IdempotencyMismatchError
  | RateLimitedError

/** Any error of the wire contract. */
export type IdentifyFaceError = TaskError | RequestError

const byCode = {
  "014002095": InternalGenerationError,
  "014002096": ResultParsingError,
  "014002097": VideoFetchHttpError,
  "014002099": TaskInterruptedError,
  "014002101": InvalidParametersError,
  "014002102": UnsupportedModelError,
  "014002103": VideoNotFoundError,
  "014002104": VideoUrlRefusedError,
  "014002105": VideoUrlUnreachableError,
  "014002110": UnsupportedContainerError,
  "014002111": VideoTooLargeError,
  "014002112": DurationOutOfRangeError,
  "014002113": UnsupportedResolutionError,
  "014002114": DimensionsOutOfRangeError,
  "014002115": UndecodableVideoError,
  "401": UnauthorizedError,
  "404": NotFoundError,
  "405": MethodNotAllowedError,
  "408": RequestTimeoutError,
  "409": ConflictError,
  "413": PayloadTooLargeError,
  "415": UnsupportedMediaTypeError,
  "422": IdempotencyMismatchError
} as const

/** Every code of the wire contract, with 429 (which also carries a retry delay), in order. */
export const codes: ReadonlyArray<string> = [...Object.keys(byCode), "429"].sort()

/**
 * The typed error for a code read off the wire. An unknown code becomes an
 * {@link InternalGenerationError} that keeps the code in its message.
 */
export const fromCode = (code: string, message: string, retryAfterSeconds = 1): IdentifyFaceError => {
  if (code === "429") return new RateLimitedError({ message, retryAfterSeconds })
  // Own keys only: a code off the wire such as "constructor" must not reach Object.prototype.
  return Object.hasOwn(byCode, code)
    ? new byCode[code as keyof typeof byCode]({ message })
    : new InternalGenerationError({ message: `${message} (code ${code})` })
}

/** The wire shape of an error: `{ "code", "error_message" }`. */
export const ErrorObject = Schema.Struct({
  // Documented as the list of codes; decoded as any string, so a client reads a code it does not know.
  code: Schema.String.annotations({ jsonSchema: { enum: codes } }),
  error_message: Schema.String
}).annotations({ identifier: "Error", description: "A code from the table in API.md and a message for people." })

/** The body of every HTTP error answer: `{ "message", "error": { "code", "error_message" } }`. */
export const ErrorBody = Schema.Struct({
  message: Schema.String,
  error: ErrorObject
}).annotations({ identifier: "ErrorBody" })

/** The wire object of an error. */
export const toErrorObject = (error: IdentifyFaceError): typeof ErrorObject.Type => ({
  code: error.code,
  error_message: error.message
})
