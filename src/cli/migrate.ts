// Entry point of `flannel-operator migrate`; replaced by the real implementation.
export async function main(_argv: string[]): Promise<number> {
  throw new Error('migrate: not implemented yet');
}
