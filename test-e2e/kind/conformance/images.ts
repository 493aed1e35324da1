/**
 * Images the sig-network conformance specs run that the node image does not preload (agnhost 2.56 and
 * pause 3.10.1 are preloaded), under the names test/utils/image/manifest.go of v1.34.4 gives them.
 * hack/kind/build.sh builds them from hack/kind/images/{jessie-dnsutils,nginx,busybox}.
 */
const E2E_REGISTRY = 'registry.k8s.io/e2e-test-images';

export const CONFORMANCE_IMAGES = [
  `${E2E_REGISTRY}/jessie-dnsutils:1.7`,
  `${E2E_REGISTRY}/nginx:1.14-4`,
  `${E2E_REGISTRY}/nginx:1.15-4`,
  `${E2E_REGISTRY}/busybox:1.37.0-1`,
];
