using DeepShrink.Core;

namespace DeepShrink.Data;

/// <summary>
/// Iterates over an <see cref="ImageDataset"/> in minibatches: seeded per-epoch shuffling,
/// optional augmentation, optional flattening.
/// </summary>
/// <remarks>
/// The order of epoch e depends only on (<see cref="DataLoaderOptions.Seed"/>, e): replaying an
/// epoch gives the same batches, and different epochs give different orders. Augmentation draws
/// from a second stream derived from the same pair, sample after sample in batch order, so it is
/// reproducible as well. Every sample appears exactly once per epoch (except those in a dropped
/// last batch).
/// </remarks>
public sealed class DataLoader
{
    /// <summary>The dataset iterated over.</summary>
    public ImageDataset Dataset { get; }
    /// <summary>The options (validated).</summary>
    public DataLoaderOptions Options { get; }

    private (Tensor Images, int[] Labels)? _full, _partial;

    /// <summary>Creates a loader (default options when null).</summary>
    public DataLoader(ImageDataset dataset, DataLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        Options = options ?? new DataLoaderOptions();
        Options.Validate();
        Dataset = dataset;
    }

    /// <summary>Batches per epoch, counting a kept partial batch.</summary>
    public int BatchesPerEpoch => Options.DropLast
        ? Dataset.Count / Options.BatchSize
        : (Dataset.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Sample indices in the order epoch <paramref name="epoch"/> visits them (all of them, before dropping).</summary>
    public int[] Order(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[Dataset.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (Options.Shuffle) new Rng(StreamSeed(Options.Seed, epoch, 0)).Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based).</summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        var order = Order(epoch);
        return Iterate(order, new Rng(StreamSeed(Options.Seed, epoch, 1)));
    }

    private IEnumerable<Batch> Iterate(int[] order, Rng augRng)
    {
        int bs = Options.BatchSize, n = order.Length, ss = Dataset.SampleSize;
        int c = Dataset.Channels, h = Dataset.Height, w = Dataset.Width;
        var transforms = Options.Transforms;
        var scratch = transforms.Count > 0 ? new float[ss] : Array.Empty<float>();
        for (int start = 0; start < n; start += bs)
        {
            int b = Math.Min(bs, n - start);
            if (b < bs && Options.DropLast) yield break;
            var (images, labels) = Buffers(b);
            var dst = images.Span;
            for (int i = 0; i < b; i++)
            {
                int idx = order[start + i];
                var sample = dst.Slice(i * ss, ss);
                Dataset.CopySample(idx, sample);
                labels[i] = Dataset.Label(idx);
                foreach (var t in transforms) t.Apply(sample, c, h, w, augRng, scratch);
            }
            yield return new Batch(images, labels);
        }
    }

    private (Tensor, int[]) Buffers(int b)
    {
        if (!Options.ReuseBuffers) return Allocate(b);
        ref var slot = ref (b == Options.BatchSize ? ref _full : ref _partial);
        if (slot is not { } s || s.Labels.Length != b) slot = Allocate(b);
        return slot.Value;
    }

    private (Tensor, int[]) Allocate(int b)
    {
        int[] shape = Options.Flatten
            ? new[] { b, Dataset.SampleSize }
            : new[] { b, Dataset.Channels, Dataset.Height, Dataset.Width };
        return (new Tensor(shape), new int[b]);
    }

    /// <summary>An independent seed per (seed, epoch, stream), mixed with the SplitMix64 finaliser.</summary>
    private static ulong StreamSeed(ulong seed, int epoch, ulong stream)
    {
        ulong z = seed ^ (0x9E3779B97F4A7C15UL * (ulong)(epoch + 1)) ^ (0xD1B54A32D192ED03UL * (stream + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
