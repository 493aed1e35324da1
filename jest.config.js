// Unit tests live next to the code (src/**/*.test.ts) and need nothing but Node.
// Integration tests (test-e2e/**/*.test.ts) start a real kube-apiserver + etcd and,
// for the dataplane, network namespaces; they need root and the tools from hack/tools.
// The kind suite (test-e2e/kind/**/*.test.ts) runs the image, the chart and the DaemonSets on kind
// clusters; `make e2e` builds its images and runs it inside a dockerd period (hack/kind).
const swc = [
  '@swc/jest',
  {
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'es6' },
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test-e2e/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/test-e2e/kind/'],
    },
    // Real kind clusters on the suite's own dockerd (`make e2e`, hack/kind): never beside the netns lab.
    {
      ...common,
      displayName: 'kind',
      testMatch: ['<rootDir>/test-e2e/kind/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/test-e2e/kind/conformance/all-backends.test.ts'],
    },
    // `make conformance`: sig-network conformance on one kind cluster per backend.
    {
      ...common,
      displayName: 'conformance',
      testMatch: ['<rootDir>/test-e2e/kind/conformance/all-backends.test.ts'],
    },
  ],
};
