/**
 * Webhooks: Standard Webhooks signing and verification, cross-checked with node:crypto, and the
 * delivery of ended tasks through the engine on the test clock.
 */
import { createHmac } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Authenticator from "../src/Authenticator.js"
import * as Client from "../src/Client.js"
import * as Config from "../src/Config.js"
import { InvalidConfigError } from "../src/Config.js"
import { DurationOutOfRangeError } from "../src/Errors.js"
import type { FaceAnalyzerService } from "../src/FaceAnalyzer.js"
import * as Server from "../src/Server.js"
import type { Task } from "../src/Task.js"
import { TaskNotifier } from "../src/TaskNotifier.js"
import { fileUrlAt, toTaskObject } from "../src/TaskView.js"
import * as Webhooks from "../src/Webhooks.js"
import { WebhookDeliveryError, WebhookSender } from "../src/Webhooks.js"
import type { WebhookHeaders, WebhookOptions, WebhookSenderService } from "../src/Webhooks.js"
import type { FaceResult, TaskObject } from "../src/Wire.js"
import { makeStores, startEngine } from "./helpers/Engine.js"
import { alice, analysis, bob, instantAnalyzer, urlInput, video } from "./helpers/fixtures.js"

/** The example of the Standard Webhooks reference libraries' tests. */
const vector = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1_614_265_330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
}

/** A v1 signature as node:crypto makes it. */
const nodeSignature = (secret: string, id: string, timestamp: number, body: string) =>
  `v1,${createHmac("sha256", Buffer.from(secret.replace(/^whsec_/, ""), "base64")).update(`${id}.${timestamp}.${body}`).digest("base64")}`

const atSeconds = (seconds: number) => seconds * 1000

/** The reason a verification failed with. */
const refusal = (options: Webhooks.VerifyOptions) => Effect.map(Effect.flip(Webhooks.verify(options)), (error) => error.reason)

describe("Webhooks.sign", () => {
  it.effect("signs the Standard Webhooks test vector", () =>
    Effect.gen(function* () {
      expect(nodeSignature(vector.secret, vector.id, vector.timestamp, vector.body)).toBe(vector.signature)
      expect(yield* Webhooks.sign(vector)).toEqual({
        "webhook-id": vector.id,
        "webhook-timestamp": "1614265330",
        "webhook-signature": vector.signature
      })
    }))

  it.effect("signs as node:crypto does: any secret, a secret without its prefix, a body of bytes", () =>
    Effect.gen(function* () {
      const secret = Webhooks.generateSecret()
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
      const body = JSON.stringify({ text: "é ✓ 🙂", n: 1 })
      const expected = nodeSignature(secret, "task_1", 1_700_000_000, body)
      const signed = (options: Partial<Webhooks.SignOptions>) =>
        Effect.map(Webhooks.sign({ id: "task_1", timestamp: 1_700_000_000.9, body, secret, ...options }), (headers) => headers["webhook-signature"])
      expect(yield* signed({})).toBe(expected)
      expect(yield* signed({ secret: secret.slice("whsec_".length) })).toBe(expected)
      expect(yield* signed({ body: new TextEncoder().encode(body) })).toBe(expected)
    }))

  it.effect("signs with each secret while one rotates", () =>
    Effect.gen(function* () {
      const old = Webhooks.generateSecret()
      const headers = yield* Webhooks.sign({ ...vector, secret: [vector.secret, old] })
      expect(headers["webhook-signature"]).toBe(`${vector.signature} ${nodeSignature(old, vector.id, vector.timestamp, vector.body)}`)
    }))
})

describe("Webhooks.verify", () => {
  const at = (seconds: number) => ({ ...vector, now: atSeconds(seconds) })
  const signed = Webhooks.sign(vector)

  it.effect("answers the parsed body of a message it signed, whatever the form of the headers", () =>
    Effect.gen(function* () {
      const headers = yield* signed
      const forms: ReadonlyArray<Webhooks.HeadersInput> = [
        headers,
        new Headers({ ...headers }),
        { "Webhook-Id": headers["webhook-id"], "WEBHOOK-TIMESTAMP": headers["webhook-timestamp"], "webhook-signature": [headers["webhook-signature"]] }
      ]
      for (const form of forms) {
        expect(yield* Webhooks.verify({ ...at(vector.timestamp), headers: form })).toEqual({ test: 2432232314 })
      }
      expect(yield* Webhooks.verify({ ...at(vector.timestamp), headers, body: new TextEncoder().encode(vector.body) })).toEqual({ test: 2432232314 })
    }))

  it.effect("refuses a tampered body, a tampered signature and another secret", () =>
    Effect.gen(function* () {
      const headers = yield* signed
      const base = { ...at(vector.timestamp), headers }
      expect(yield* refusal({ ...base, body: '{"test": 2432232315}' })).toBe("InvalidSignature")
      expect(yield* refusal({ ...base, body: `${vector.body} ` })).toBe("InvalidSignature")
      const flipped = headers["webhook-signature"].replace("v1,g", "v1,h")
      expect(yield* refusal({ ...base, headers: { ...headers, "webhook-signature": flipped } })).toBe("InvalidSignature")
      expect(yield* refusal({ ...base, headers: { ...headers, "webhook-signature": "v1,not base64!" } })).toBe("InvalidSignature")
      expect(yield* refusal({ ...base, headers: { ...headers, "webhook-id": "msg_other" } })).toBe("InvalidSignature")
      expect(yield* refusal({ ...base, headers: { ...headers, "webhook-timestamp": String(vector.timestamp + 1) } })).toBe("InvalidSignature")
      expect(yield* refusal({ ...base, secret: Webhooks.generateSecret() })).toBe("InvalidSignature")
      // The same signature under another version is not a v1 signature.
      expect(yield* refusal({ ...base, headers: { ...headers, "webhook-signature": vector.signature.replace("v1,", "v2,") } })).toBe("InvalidSignature")
    }))

  it.effect("refuses missing headers, a timestamp that is not whole seconds and a body that is not JSON", () =>
    Effect.gen(function* () {
      const headers = yield* signed
      for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"] as const) {
        const { [name]: _, ...rest } = headers
        expect(yield* refusal({ ...at(vector.timestamp), headers: rest })).toBe("MissingHeaders")
      }
      expect(yield* refusal({ ...at(vector.timestamp), headers: { ...headers, "webhook-timestamp": "1614265330.5" } })).toBe("InvalidTimestamp")
      const notJson = yield* Webhooks.sign({ ...vector, body: "not json" })
      expect(yield* refusal({ ...at(vector.timestamp), headers: notJson, body: "not json" })).toBe("InvalidPayload")
    }))

  it.effect("refuses a timestamp more than 5 minutes old or ahead, on the Clock by default", () =>
    Effect.gen(function* () {
      const headers = yield* signed
      const base = { ...vector, headers }
      expect(yield* refusal({ ...base, now: atSeconds(vector.timestamp + 301) })).toBe("TimestampTooOld")
      expect(yield* refusal({ ...base, now: atSeconds(vector.timestamp - 301) })).toBe("TimestampTooNew")
      yield* Webhooks.verify({ ...base, now: atSeconds(vector.timestamp + 299) })
      yield* Webhooks.verify({ ...base, now: atSeconds(vector.timestamp - 299) })
      expect(yield* refusal({ ...base, now: atSeconds(vector.timestamp + 31), tolerance: "30 seconds" })).toBe("TimestampTooOld")

      yield* TestClock.setTime(atSeconds(vector.timestamp + 300))
      yield* Webhooks.verify(base)
      yield* TestClock.adjust("1 second")
      expect(yield* refusal(base)).toBe("TimestampTooOld")
    }))

  it.effect("accepts a signature by any of the secrets while one rotates", () =>
    Effect.gen(function* () {
      const next = Webhooks.generateSecret()
      const both = yield* Webhooks.sign({ ...vector, secret: [next, vector.secret] })
      const onlyOld = yield* signed
      yield* Webhooks.verify({ ...at(vector.timestamp), headers: both, secret: vector.secret })
      yield* Webhooks.verify({ ...at(vector.timestamp), headers: both, secret: next })
      yield* Webhooks.verify({ ...at(vector.timestamp), headers: onlyOld, secret: [next, vector.secret] })
      const unknownFirst = { ...onlyOld, "webhook-signature": `v2,whatever v1,AAAA ${onlyOld["webhook-signature"]}` }
      yield* Webhooks.verify({ ...at(vector.timestamp), headers: unknownFirst })
    }))

  it.effect("takes a secret that is not base64 for a wrong setting, a defect", () =>
    Effect.gen(function* () {
      const headers = yield* signed
      const defect = yield* Webhooks.verify({ ...at(vector.timestamp), headers, secret: "whsec_not base64!" }).pipe(
        Effect.as(undefined),
        Effect.catchAllDefect(Effect.succeed)
      )
      expect(defect).toBeInstanceOf(InvalidConfigError)
    }))
})

describe("Webhooks.tenantSecret", () => {
  it.effect("derives each tenant's secret from the server secret with HMAC-SHA256, the same every time", () =>
    Effect.gen(function* () {
      const serverSecret = Webhooks.generateSecret()
      const alices = yield* Webhooks.tenantSecret(serverSecret, alice.id)
      const derived = createHmac("sha256", Buffer.from(serverSecret.slice("whsec_".length), "base64"))
        .update(`identify-face/webhook/${alice.id}`)
        .digest("base64")
      expect(alices).toBe(`whsec_${derived}`)
      expect(yield* Webhooks.tenantSecret(serverSecret, alice.id)).toBe(alices)
      expect(yield* Webhooks.tenantSecret(serverSecret, bob.id)).not.toBe(alices)
      expect(yield* Webhooks.tenantSecret(Webhooks.generateSecret(), alice.id)).not.toBe(alices)
    }))

  it.effect("a key's tenant, for the keys of Authenticator.layerKeys", () =>
    Effect.gen(function* () {
      const auth = yield* Authenticator.fromKeys(["key-a"])
      expect(yield* Authenticator.tenantOf(" key-a ")).toEqual(yield* auth.authenticate("Bearer key-a"))
    }))
})

describe("Client.verifyWebhook", () => {
  const task: TaskObject = { id: "task_00000000000000000000000000", model: "kirin_identify_face", status: "cancelled", created_at: 1, updated_at: 2 }
  const body = JSON.stringify(task)
  const received = (headers: WebhookHeaders, content = body) =>
    new Request("https://receiver.example.com/hook", { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: content })

  it.effect("answers the task object of a web Request, or of headers and a raw body", () =>
    Effect.gen(function* () {
      const headers = yield* Webhooks.sign({ id: task.id, timestamp: 0, body, secret: vector.secret })
      expect(yield* Client.verifyWebhook(received(headers), vector.secret)).toEqual(task)
      expect(yield* Client.verifyWebhook({ headers, body: new TextEncoder().encode(body) }, [Webhooks.generateSecret(), vector.secret])).toEqual(task)
      const notATask = yield* Webhooks.sign({ id: task.id, timestamp: 0, body: "{}", secret: vector.secret })
      expect((yield* Effect.flip(Client.verifyWebhook(received(notATask, "{}"), vector.secret))).reason).toBe("InvalidPayload")
    }))

  it("verifyWebhookPromise: resolves to the task, rejects a tampered one with the typed error", async () => {
    const now = Date.now()
    const headers = await Effect.runPromise(Webhooks.sign({ id: task.id, timestamp: now / 1000, body, secret: vector.secret }))
    await expect(Client.verifyWebhookPromise(received(headers), vector.secret)).resolves.toEqual(task)
    await expect(Client.verifyWebhookPromise(received(headers, body.replace("cancelled", "completed")), vector.secret)).rejects.toMatchObject({
      _tag: "WebhookVerificationError",
      reason: "InvalidSignature"
    })
    await expect(Client.verifyWebhookPromise(received(headers), vector.secret, { now: now + 3_600_000 })).rejects.toMatchObject({
      reason: "TimestampTooOld"
    })
  })
})

const serverSecret = "whsec_c2VydmVyIHNlY3JldCBvZiBhdCBsZWFzdCAyNCBieXRlcw=="
const publicUrl = "https://api.example.com/identify"
const callbackUrl = "https://hooks.example.com/identify-face"

/** One attempt the sender was asked to make. */
interface Attempt {
  readonly url: string
  readonly headers: WebhookHeaders
  readonly body: string
  /** Test-clock epoch milliseconds. */
  readonly at: number
}

/** A sender that records every attempt and answers the n-th (from 1) with `answer(n)`. */
const recordingSender = (answer: (attempt: number) => Effect.Effect<void, WebhookDeliveryError> = () => Effect.void) => {
  const attempts: Array<Attempt> = []
  const service: WebhookSenderService = {
    send: (url, headers, body) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        attempts.push({ url, headers, body, at })
        return answer(attempts.length)
      })
  }
  return { attempts, service }
}

const rejected = (status: number) => Effect.fail(new WebhookDeliveryError({ reason: "Rejected", message: `answered HTTP ${status}`, status }))

const instant: FaceAnalyzerService["analyze"] = (_, onProgress) => Effect.as(onProgress(0.5), analysis)

/**
 * Real time for the signing a step set off: WebCrypto works off the fibers, where the test clock
 * cannot wait for it.
 */
const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10)))

/** Lets every fiber run until it waits on the test clock. */
const settle = Effect.repeatN(Effect.zipRight(TestClock.adjust(0), realPause), 2)

/** Moves the test clock on second by second, so that each retry is scheduled from when it ran. */
const advance = (seconds: number) => Effect.repeatN(Effect.zipRight(TestClock.adjust("1 second"), realPause), seconds - 1)

/** Moves the test clock on at once (nothing is due meanwhile), then settles. */
const jump = (duration: Duration.DurationInput) => Effect.zipRight(TestClock.adjust(duration), settle)

/**
 * Settles, moving the test clock on by `step` each time, until the sender has seen `count`
 * attempts; for up to 2 s of real time on a busy machine.
 */
const attempted = (sender: { readonly attempts: ReadonlyArray<Attempt> }, count: number, step: Duration.DurationInput = 0) =>
  Effect.zipRight(TestClock.adjust(step), realPause).pipe(Effect.repeat({ until: () => sender.attempts.length >= count, times: 200 }))

/** An engine over fresh stores whose callbacks go to `sender`; retries after about 10 s, 1 min and 5 min. */
const startDelivering = (sender: WebhookSenderService, analyze = instant, options: Partial<WebhookOptions> = {}) =>
  Effect.gen(function* () {
    const stores = yield* makeStores
    const notifier = yield* Webhooks.make({ secret: serverSecret, retryDelays: ["10 seconds", "1 minute", "5 minutes"], ...options }).pipe(
      Effect.provideService(Config.Config, Config.make({ publicUrl })),
      Effect.provideService(WebhookSender, sender)
    )
    const engine = yield* startEngine(stores, analyze).pipe(Effect.provideService(TaskNotifier, notifier))
    return { stores, engine }
  })

/** Checks an attempt as a receiver would, at the attempt's time, and answers the task object. */
const received = (attempt: Attempt | undefined, tenant = alice.id) =>
  Effect.gen(function* () {
    if (attempt === undefined) return yield* Effect.dieMessage("no attempt")
    const secret = yield* Webhooks.tenantSecret(serverSecret, tenant)
    return yield* Client.verifyWebhook({ headers: attempt.headers, body: attempt.body }, secret, { now: attempt.at })
  })

const withCallback = { ...urlInput(), callbackUrl }

describe("Webhooks delivery", () => {
  it.scoped("delivers a completed task once, signed with its tenant's secret, with absolute face_image URLs", () =>
    Effect.gen(function* () {
      const sender = recordingSender()
      const { engine } = yield* startDelivering(sender.service)
      const { id } = yield* engine.submit(alice, withCallback)
      yield* attempted(sender, 1)
      const done: Task = yield* engine.get(alice, id)
      expect(done._tag).toBe("completed")
      expect(sender.attempts).toHaveLength(1)
      const [attempt] = sender.attempts
      expect(attempt?.url).toBe(callbackUrl)
      expect(attempt?.headers["webhook-id"]).toBe(id)
      const delivered = yield* received(attempt)
      expect(delivered).toEqual(toTaskObject(done, fileUrlAt(publicUrl)))
      const result = JSON.parse(delivered.output?.[0]?.content[0]?.text ?? "{}") as FaceResult
      expect(result.data.face_data.map((face) => face.face_image.startsWith(`${publicUrl}/model/v1/files/`))).toEqual([true, true])
      expect((yield* Effect.flip(received(attempt, bob.id))).reason).toBe("InvalidSignature")

      yield* jump("2 hours")
      expect(sender.attempts).toHaveLength(1)
    }))

  it.scoped("retries a 500 after each delay with jitter, signing each attempt at its own time", () =>
    Effect.gen(function* () {
      const sender = recordingSender((attempt) => (attempt < 3 ? rejected(500) : Effect.void))
      const { engine } = yield* startDelivering(sender.service)
      const { id } = yield* engine.submit(alice, withCallback)
      yield* attempted(sender, 1)
      expect(sender.attempts).toHaveLength(1)
      yield* advance(7) // the first retry waits 10 s, give or take 20%
      expect(sender.attempts).toHaveLength(1)
      yield* advance(6)
      yield* attempted(sender, 2)
      expect(sender.attempts).toHaveLength(2)
      yield* advance(40) // the second waits 1 min, give or take 20%
      expect(sender.attempts).toHaveLength(2)
      yield* advance(40)
      yield* attempted(sender, 3)
      expect(sender.attempts).toHaveLength(3)
      yield* jump("1 hour")
      expect(sender.attempts).toHaveLength(3)

      // Each attempt is signed in whole seconds when it starts; the clock moves a second at a time.
      const [first, second, third] = sender.attempts.map((attempt) => Number(attempt.headers["webhook-timestamp"]))
      expect(second! - first!).toBeGreaterThanOrEqual(7)
      expect(second! - first!).toBeLessThanOrEqual(14)
      expect(third! - second!).toBeGreaterThanOrEqual(47)
      expect(third! - second!).toBeLessThanOrEqual(75)
      for (const attempt of sender.attempts) {
        expect(attempt.headers["webhook-id"]).toBe(id)
        expect(attempt.body).toBe(sender.attempts[0]?.body)
        expect((yield* received(attempt)).status).toBe("completed")
      }
    }))

  it.scoped("gives up after the last delay, logs it, and the task stays as it ended", () => {
    const warnings: Array<string> = []
    const warningLogger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(String(Array.isArray(message) ? message[0] : message))
    })
    return Effect.gen(function* () {
      const sender = recordingSender(() => rejected(500))
      const { engine, stores } = yield* startDelivering(sender.service, instant, { retryDelays: ["1 second", "2 seconds", "3 seconds"] })
      const { id } = yield* engine.submit(alice, withCallback)
      yield* attempted(sender, 4, "1 second")
      expect(sender.attempts).toHaveLength(4)
      yield* jump("2 hours")
      expect(sender.attempts).toHaveLength(4)
      expect(warnings).toEqual([`identify-face: the callback of ${id} was not delivered`])
      expect((yield* engine.get(alice, id))._tag).toBe("completed")
      expect(stores.written.filter((task) => task.id === id).at(-1)?._tag).toBe("completed")
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, warningLogger)))
  })

  it.scoped("does not retry a refused address, and a sender that dies changes nothing", () =>
    Effect.gen(function* () {
      const refused = recordingSender(() => Effect.fail(new WebhookDeliveryError({ reason: "Refused", message: "callback_url refused" })))
      const first = yield* startDelivering(refused.service)
      const a = yield* first.engine.submit(alice, withCallback)
      yield* attempted(refused, 1)
      yield* jump("2 hours")
      expect(refused.attempts).toHaveLength(1)
      expect((yield* first.engine.get(alice, a.id))._tag).toBe("completed")

      const dying = recordingSender(() => Effect.die(new Error("sender bug")))
      const second = yield* startDelivering(dying.service)
      const b = yield* second.engine.submit(alice, withCallback)
      const c = yield* second.engine.submit(alice, withCallback)
      yield* attempted(dying, 2)
      expect(dying.attempts.map((attempt) => attempt.headers["webhook-id"]).sort()).toEqual([b.id, c.id].sort())
      expect((yield* second.engine.get(alice, b.id))._tag).toBe("completed")
    }))

  it.scoped("delivers failed and cancelled tasks too, and nothing for a task without callback_url", () =>
    Effect.gen(function* () {
      const sender = recordingSender()
      const failing = yield* startDelivering(sender.service, () => Effect.fail(new DurationOutOfRangeError({ message: "the video is 75 s long" })))
      yield* failing.engine.submit(alice, urlInput())
      const failed = yield* failing.engine.submit(alice, withCallback)
      yield* attempted(sender, 1)
      expect(sender.attempts).toHaveLength(1)
      expect(yield* received(sender.attempts[0])).toMatchObject({ id: failed.id, status: "failed", error: { code: "014002112" } })

      const slow = yield* startDelivering(sender.service, () => Effect.as(Effect.sleep("1 minute"), analysis))
      const cancelled = yield* slow.engine.submit(bob, withCallback)
      yield* settle
      yield* slow.engine.cancel(bob, cancelled.id)
      yield* attempted(sender, 2)
      yield* jump("1 hour")
      expect(sender.attempts).toHaveLength(2)
      expect(yield* received(sender.attempts[1], bob.id)).toMatchObject({ id: cancelled.id, status: "cancelled" })
    }))

  it.scoped("loses the retries pending when the notifier's scope closes (a shutdown or a crash)", () =>
    Effect.gen(function* () {
      const sender = recordingSender(() => rejected(503))
      const scope = yield* Scope.make()
      const { engine } = yield* startDelivering(sender.service).pipe(Scope.extend(scope))
      yield* engine.submit(alice, withCallback)
      yield* attempted(sender, 1)
      yield* Scope.close(scope, Exit.void)
      yield* jump("2 hours")
      expect(sender.attempts).toHaveLength(1)
    }))

  it.scoped("refuses a private or malformed callback_url at create with 014002104, with or without webhooks", () =>
    Effect.gen(function* () {
      const delivering = yield* startDelivering(recordingSender().service)
      const stores = yield* makeStores
      const silent = yield* startEngine(stores, instant)
      for (const engine of [delivering.engine, silent]) {
        for (const url of ["http://127.0.0.1/hook", "http://10.0.0.1/hook", "https://user:pw@hooks.example.com/", "ftp://hooks.example.com/", "hook"]) {
          const error = yield* Effect.flip(engine.submit(alice, { ...urlInput(), callbackUrl: url }))
          expect(error).toMatchObject({ _tag: "VideoUrlRefusedError", code: "014002104", status: 400 })
          expect(error.message).toMatch(/^callback_url refused: /)
        }
      }
      expect(stores.written).toEqual([])
      const allowed = yield* startDelivering(recordingSender().service, instant, { allowHost: (host) => host === "127.0.0.1:8080" })
      yield* allowed.engine.submit(alice, { ...urlInput(), callbackUrl: "http://127.0.0.1:8080/hook" })
    }))
})

describe("Server.layer with webhooks", () => {
  const sender = (service: WebhookSenderService) => Layer.succeed(WebhookSender, service)

  it("throws at construction without publicUrl, with a weak or malformed secret, or a delay that is not one", () => {
    const options = { apiKeys: ["k"] }
    const webhooks = { secret: serverSecret, sender: sender(recordingSender().service) }
    expect(() => Server.layerMemory({ ...options, webhooks })).toThrow(/webhooks need config.publicUrl/)
    expect(() => Server.layerMemory({ ...options, config: { publicUrl }, webhooks: { ...webhooks, secret: "whsec_c2hvcnQ=" } })).toThrow(/at least 24 bytes/)
    expect(() => Server.layerMemory({ ...options, config: { publicUrl }, webhooks: { ...webhooks, secret: "not base64!" } })).toThrow(InvalidConfigError)
    expect(() => Server.layerMemory({ ...options, config: { publicUrl }, webhooks: { ...webhooks, secret: [] } })).toThrow(InvalidConfigError)
    expect(() => Server.layerMemory({ ...options, config: { publicUrl }, webhooks: { ...webhooks, retryDelays: ["soon" as Duration.DurationInput] } })).toThrow(/retryDelays/)
  })

  it.scopedLive("over HTTP: a create with callback_url is delivered; a private one is refused with 400", () =>
    Effect.gen(function* () {
      const recording = recordingSender()
      const handler = Server.makeWebHandler(
        Server.layerMemory({
          apiKeys: ["key-a"],
          config: { publicUrl },
          fetchUrl: () => Effect.succeed(video()),
          webhooks: { secret: serverSecret, sender: sender(recording.service) }
        }).pipe(Layer.provide(instantAnalyzer))
      )
      yield* Effect.addFinalizer(() => Effect.promise(handler.dispose))
      const create = (body: unknown) =>
        Effect.promise(() =>
          handler.handle(
            new Request("http://localhost/model/v1/generation", {
              method: "POST",
              headers: { authorization: "Bearer key-a", "content-type": "application/json" },
              body: JSON.stringify(body)
            })
          )
        )
      const refused = yield* create({ model: "kirin_identify_face", video_url: "https://videos.example.com/a.mp4", callback_url: "http://169.254.169.254/" })
      expect(refused.status).toBe(400)
      expect(yield* Effect.promise(() => refused.json())).toMatchObject({ error: { code: "014002104" } })

      const created = yield* create({ model: "kirin_identify_face", video_url: "https://videos.example.com/a.mp4", callback_url: callbackUrl })
      const { id } = (yield* Effect.promise(() => created.json())) as TaskObject
      yield* Effect.sleep("10 millis").pipe(Effect.repeat({ until: () => recording.attempts.length > 0, times: 200 }))
      const [attempt] = recording.attempts
      const secret = yield* Webhooks.tenantSecret(serverSecret, (yield* Authenticator.tenantOf("key-a")).id)
      const delivered = yield* Client.verifyWebhook({ headers: attempt!.headers, body: attempt!.body }, secret, { now: Date.now() })
      expect(delivered).toMatchObject({ id, status: "completed" })
    }))
})
