/**
 * `video_url` without a network: a URL fetcher that serves scripted content or fails with a
 * scripted error. URLs still pass core's address guard first, so a refused URL (014002104) is
 * refused as the real server refuses it.
 *
 * @since 0.1.0
 */
import { InvalidConfigError } from "@identify-face/core/Config"
import type { VideoError } from "@identify-face/core/Errors"
import type { UrlFetcher } from "@identify-face/core/VideoSource"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** What fetching one URL does: serve `content`, or fail, e.g. with 014002097 or 014002105. */
export type UrlScript = { readonly content: string | Uint8Array } | { readonly failure: VideoError }

/** Scripts by URL. */
export type UrlScripts = Readonly<Record<string, UrlScript>>

const normalise = (url: string) => {
  if (!URL.canParse(url)) throw new InvalidConfigError(`@identify-face/testing: urls: ${JSON.stringify(url)} is not an absolute URL`)
  return new URL(url).href
}

/**
 * A fetcher for `Server.layerMemory({ fetchUrl })`. A URL without a script serves its own text,
 * so analyzer scripts can be keyed by URL.
 */
export const make = (urls: UrlScripts = {}): UrlFetcher => {
  const scripts = new Map(Object.entries(urls).map(([url, script]) => [normalise(url), script]))
  const encoder = new TextEncoder()
  return (url) => {
    const script = scripts.get(url.href) ?? { content: url.href }
    if ("failure" in script) return Effect.fail(script.failure)
    const content = typeof script.content === "string" ? encoder.encode(script.content) : script.content
    return Effect.succeed({ bytes: content.byteLength, path: undefined, stream: Stream.make(content) })
  }
}
