import { runConformanceSuite, startTestServer } from "@identify-face/testing/Conformance"

runConformanceSuite({ name: "the double's fake server", start: startTestServer })
