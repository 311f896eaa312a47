/**
 * identify-face on Node: video intake, on-disk stores, the ffprobe checks and the real analysis.
 *
 * @since 0.1.0
 */
export * as FileArtifactStore from "./FileArtifactStore.js"
export * as FileVideoStore from "./FileVideoStore.js"
export * as NodeFaceAnalyzer from "./NodeFaceAnalyzer.js"
export * as NodeServer from "./NodeServer.js"
export * as SqliteStore from "./SqliteStore.js"
export * as UrlFetcher from "./UrlFetcher.js"
