// Unit tests live next to the code (src/**/*.test.ts) and need nothing but Node.
// Integration tests (test-e2e/**/*.test.ts) start a real kube-apiserver + etcd and,
// for the dataplane, network namespaces; they need root and the tools from hack/tools.
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
  ],
};
