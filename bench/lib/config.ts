/** @module How long each part of the benchmark runs: full (~5 min on 2 cores) or quick (KEYWARD_BENCH_QUICK=1). */
export interface BenchConfig {
  quick: boolean;
  /** Alternating rounds per comparison; medians are taken over these. */
  rounds: number;
  warmupMs: number;
  throughputMs: number;
  rateMs: number;
  /** Fixed rate for the latency figures, requests/s. */
  rate: number;
  httpConnections: number;
  grpcInFlight: number;
  /** grpc-js client channels the in-flight calls are spread over (one channel alone stalls well before the servers do). */
  grpcChannels: number;
  bulkSizes: number[];
  bulkMs: number;
  startupComponents: number[];
  startupRounds: number;
  awsRounds: number;
  awsReadsPerRound: number;
}

export function benchConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const quick = env.KEYWARD_BENCH_QUICK === "1" || env.KEYWARD_BENCH_QUICK === "true";
  return {
    quick,
    rounds: quick ? 2 : 5,
    warmupMs: quick ? 300 : 1000,
    throughputMs: quick ? 1000 : 3000,
    // p99 of a 6 s window at 1,000/s rests on 60 samples; shorter windows made the tail too noisy to compare.
    rateMs: quick ? 1500 : 6000,
    rate: 1000,
    httpConnections: 50,
    grpcInFlight: 64,
    grpcChannels: 4,
    bulkSizes: [10, 1000, 10_000],
    bulkMs: quick ? 600 : 1500,
    startupComponents: [1, 10, 100],
    startupRounds: quick ? 2 : 5,
    awsRounds: quick ? 2 : 5,
    awsReadsPerRound: quick ? 5 : 20,
  };
}
