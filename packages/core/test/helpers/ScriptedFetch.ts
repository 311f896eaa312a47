/**
 * A scripted `fetch`: answers canned responses in order and records every call with the time of
 * the test's clock, so a test reads the delays between polls off the calls.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"

/** One recorded call. */
export interface FetchCall {
  readonly url: string
  readonly method: string
  readonly headers: Headers
  readonly body: RequestInit["body"]
  readonly signal: AbortSignal | undefined
  /** The test clock's time of the call, in ms. */
  readonly at: number
}

/** Answers one call. */
export type Answer = (init: RequestInit) => Response | Promise<Response>

/** A JSON answer. */
export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Answer => () =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

/** An error answer with the wire contract's body. */
export const errorAnswer = (status: number, code: string, headers: Record<string, string> = {}): Answer =>
  json({ message: `refused with ${code}`, error: { code, error_message: `refused with ${code}` } }, status, headers)

/** An answer that never comes; like a real fetch, it rejects when its signal aborts. */
export const hang: Answer = (init) =>
  new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason)))

/**
 * A fetch answering `answers` in order; once they run out, the last one answers every further
 * call (a task that stays running).
 */
export const scriptedFetch = (answers: ReadonlyArray<Answer>) =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const calls: Array<FetchCall> = []
    // The runtime carries the test's clock, so `at` is TestClock time.
    const now = () => Runtime.runSync(runtime)(Clock.currentTimeMillis)
    const fetch = async (input: string | URL | Request, init: RequestInit = {}) => {
      const answer = answers[Math.min(calls.length, answers.length - 1)]
      if (answer === undefined) throw new Error("scriptedFetch: no answers")
      calls.push({
        url: String(input),
        method: init.method ?? "GET",
        headers: new Headers(init.headers),
        body: init.body,
        signal: init.signal ?? undefined,
        at: now()
      })
      return answer(init)
    }
    return { fetch: fetch as typeof globalThis.fetch, calls }
  })

/** The waits between consecutive calls, rounded to whole ms (jitter makes fractions). */
export const gaps = (calls: ReadonlyArray<Pick<FetchCall, "at">>): ReadonlyArray<number> =>
  calls.slice(1).map((call, index) => Math.round(call.at - (calls[index]?.at ?? 0)))
