// Entry point of `flannel-operator doctor`; replaced by the real implementation.
export async function main(_argv: string[]): Promise<number> {
  throw new Error('doctor: not implemented yet');
}
