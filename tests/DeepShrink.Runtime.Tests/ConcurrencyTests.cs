using DeepShrink.Core;

namespace DeepShrink.Runtime.Tests;

public class ConcurrencyTests
{
    [Fact]
    public void ConcurrentCallsGiveTheSequentialResults()
    {
        using var dir = new TempDir();
        var path = TestModels.Write(TestModels.Create("lenet-300-100", 30), "lenet-300-100", TestModels.DeepCompression(), dir);
        foreach (var policy in new[] { KernelPolicy.Compressed, KernelPolicy.Dense })
        {
            var m = InferenceModel.Load(path, new RuntimeOptions { Kernels = policy, Threads = 2 });
            int[] batches = [1, 3, 16, 1, 64, 2];
            var inputs = batches.Select((b, i) => Tensor.Randn(new Rng((ulong)(100 + i)), 1f, b * 784).Storage).ToArray();
            var expected = inputs.Select((x, i) => m.Run(x, batches[i])).ToArray();
            var failures = 0;
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
            {
                for (int rep = 0; rep < 12; rep++)
                {
                    int i = (worker + rep) % inputs.Length;
                    if (!m.Run(inputs[i], batches[i]).AsSpan().SequenceEqual(expected[i])) Interlocked.Increment(ref failures);
                }
            });
            Assert.Equal(0, failures);
        }
    }
}
