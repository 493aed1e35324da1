// Entry point of `flannel-operator crds`; replaced by the real implementation.
export async function main(_argv: string[]): Promise<number> {
  throw new Error('crds: not implemented yet');
}
