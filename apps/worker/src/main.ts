/**
 * The analysis worker: takes tasks from Redis and runs them, until SIGTERM or SIGINT, when it
 * hands its running tasks back and exits.
 *
 * Environment:
 * - `IDENTIFY_FACE_REDIS_URL` (default `redis://127.0.0.1:6379`), `IDENTIFY_FACE_REDIS_PREFIX`
 * - `IDENTIFY_FACE_CONCURRENCY`: tasks at once (default 1)
 * - `IDENTIFY_FACE_ANALYZER`: `node`, the real analysis (default), or `double`, the scripted one
 *   of `@identify-face/testing` (one face after `IDENTIFY_FACE_ANALYZER_DELAY_MS`, default 2000;
 *   `video_url`s serve their own text), for tests without real video
 * - `IDENTIFY_FACE_DATA_DIR`: where fetched `video_url`s are kept while analysed (default: the
 *   system's temporary directory)
 * - `IDENTIFY_FACE_LOCK_MS`, `IDENTIFY_FACE_STALLED_INTERVAL_MS`: how soon a killed worker's task is
 *   taken over (defaults 30000 and 15000); the lock is also how soon a callback it was delivering
 *   is taken over
 * - `IDENTIFY_FACE_WEBHOOK_SECRET`: the server secret (`whsec_...`) signing `callback_url` webhooks,
 *   the same as on every other worker (and as an embedded server's, for the same tenant secrets);
 *   unset, this worker delivers none and callbacks wait in Redis for one that does. Needs
 *   `IDENTIFY_FACE_PUBLIC_URL`, the API nodes' origin, which callbacks' `face_image` URLs start with
 * - `IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS`: `host:port`s a callback may be sent to although local
 *   (tests on loopback only)
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Distributed from "@identify-face/bullmq/Distributed"
import * as Pricing from "@identify-face/core/Pricing"
import type { UrlFetcher } from "@identify-face/core/VideoSource"
import * as NodeUrlFetcher from "@identify-face/node/UrlFetcher"
import * as WebhookSender from "@identify-face/node/WebhookSender"
import * as TestAnalyzer from "@identify-face/testing/TestAnalyzer"
import * as TestVideoSource from "@identify-face/testing/TestVideoSource"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Settings from "./settings.js"

const env = process.env
const analyzer = Settings.choice(env, "IDENTIFY_FACE_ANALYZER", ["node", "double"])

const analysis =
  analyzer === "double"
    ? TestAnalyzer.layer({ script: { delay: Duration.millis(Settings.integer(env, "IDENTIFY_FACE_ANALYZER_DELAY_MS", 2000, 0)), progress: [0.25, 0.5, 0.75] } })
    : // Imported only when used: the double needs neither the detector nor ffmpeg.
      Layer.unwrapEffect(Effect.promise(() => import("@identify-face/node/NodeFaceAnalyzer")).pipe(Effect.map((module) => module.layer())))

const fetchUrl: UrlFetcher =
  analyzer === "double" ? TestVideoSource.make() : NodeUrlFetcher.make({ dataDir: env.IDENTIFY_FACE_DATA_DIR || join(tmpdir(), "identify-face") })

const webhookSecret = env.IDENTIFY_FACE_WEBHOOK_SECRET || undefined
const allowCallbackHost = Settings.allowCallbackHost(env)

const worker = Distributed.layerWorker({
  ...Settings.redis(env),
  config: { concurrency: Settings.integer(env, "IDENTIFY_FACE_CONCURRENCY", 1), publicUrl: env.IDENTIFY_FACE_PUBLIC_URL || undefined },
  worker: {
    lockDuration: Duration.millis(Settings.integer(env, "IDENTIFY_FACE_LOCK_MS", 30_000)),
    stalledInterval: Duration.millis(Settings.integer(env, "IDENTIFY_FACE_STALLED_INTERVAL_MS", 15_000))
  },
  videoSource: { fetchUrl },
  webhooks:
    webhookSecret === undefined
      ? undefined
      : { secret: webhookSecret, allowHost: allowCallbackHost, sender: WebhookSender.layer({ allowHost: allowCallbackHost }) }
}).pipe(Layer.provide(analysis), Layer.provide(Pricing.layerFree))

const running = Effect.runFork(
  Effect.scoped(Effect.zipRight(Layer.build(worker), Effect.zipRight(Effect.logInfo(`identify-face worker: ready (analyzer: ${analyzer})`), Effect.never)))
)
const stop = () => Effect.runFork(Fiber.interrupt(running))
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
running.addObserver((exit) => {
  if (!Exit.isInterrupted(exit)) Effect.runFork(Effect.logError("identify-face worker: stopped", exit))
  process.exitCode = Exit.isInterrupted(exit) ? 0 : 1
})
