/**
 * The identify-face test double: a scripted analyzer, a video source without a network, and the
 * whole API in memory or on a loopback port. The conformance suite is at
 * `@identify-face/testing/Conformance`.
 *
 * @since 0.1.0
 */
export * as TestAnalyzer from "./TestAnalyzer.js"
export * as TestServer from "./TestServer.js"
export * as TestVideoSource from "./TestVideoSource.js"
