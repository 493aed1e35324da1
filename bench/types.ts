/** One benchmark measurement; `floor` is the same quantity for the minimal possible implementation, measured in the same run. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  floor?: number;
  /** value / floor */
  ratio?: number;
  notes?: string;
  /** Set by main.ts when the row beats its floor by more than 2x: the floor is then wrong. */
  floorWrong?: boolean;
}
