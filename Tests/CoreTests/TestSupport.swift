// The fake kernel and `RunCLI` live in the test-support target (Tests/Support), shared by every suite.
@_exported import VFIOTestSupport
