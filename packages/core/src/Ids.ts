/**
 * Ids of this service: a prefix and 26 characters of Crockford base32 from 130 random bits, so
 * that they can be neither guessed nor mistaken for paths. Anything else is refused before it
 * reaches a store.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
const body = "[0-9a-hjkmnp-tv-z]{26}"

const randomBody = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(26))
  let out = ""
  for (const byte of bytes) out += alphabet[byte & 31]
  return out
}

const idSchema = <const Prefix extends string>(prefix: Prefix, description: string) =>
  Schema.String.pipe(
    Schema.pattern(new RegExp(`^${prefix}_${body}$`)),
    Schema.brand(`${prefix}Id`),
    Schema.annotations({ description, examples: [`${prefix}_${"0".repeat(26)}` as never] })
  )

/** A task id: `task_` and 26 base32 characters. */
export const TaskId = idSchema("task", "A task id")
/** @since 0.1.0 */
export type TaskId = typeof TaskId.Type

/** An uploaded video's id: `vid_` and 26 base32 characters. */
export const VideoId = idSchema("vid", "An uploaded video's id")
/** @since 0.1.0 */
export type VideoId = typeof VideoId.Type

/** A request id, carried in the result for tracing: `req_` and 26 base32 characters. */
export const RequestId = idSchema("req", "A request id for tracing")
/** @since 0.1.0 */
export type RequestId = typeof RequestId.Type

/** A session id: `ses_` and 26 base32 characters; valid for 24 hours. */
export const SessionId = idSchema("ses", "A session id, valid for 24 hours")
/** @since 0.1.0 */
export type SessionId = typeof SessionId.Type

/** The key of a stored screenshot: 43 base64url characters (256 random bits) and `.jpg`. */
export const FileKey = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{43}\.jpg$/),
  Schema.brand("FileKey"),
  Schema.annotations({ description: "The unguessable key of a face screenshot" })
)
/** @since 0.1.0 */
export type FileKey = typeof FileKey.Type

/** A new random task id. */
export const makeTaskId = (): TaskId => `task_${randomBody()}` as TaskId
/** A new random video id. */
export const makeVideoId = (): VideoId => `vid_${randomBody()}` as VideoId
/** A new random request id. */
export const makeRequestId = (): RequestId => `req_${randomBody()}` as RequestId
/** A new random session id. */
export const makeSessionId = (): SessionId => `ses_${randomBody()}` as SessionId

/** A new unguessable screenshot key. */
export const makeFileKey = (): FileKey => {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  let binary = ""
  for (const byte of bytes) binary += String.fromCharCode(byte)
  const base64url = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
  return `${base64url}.jpg` as FileKey
}

/** Whether a string is a well-formed task id. */
export const isTaskId = Schema.is(TaskId)
/** Whether a string is a well-formed video id. */
export const isVideoId = Schema.is(VideoId)
/** Whether a string is a well-formed screenshot key. */
export const isFileKey = Schema.is(FileKey)
