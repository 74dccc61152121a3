using DeepShrink.Core;

namespace DeepShrink.Data;

/// <summary>
/// An in-memory labelled image dataset: images as one float32 tensor [N, C, H, W] and one integer
/// label in [0, NumClasses) per image.
/// </summary>
/// <remarks>
/// Subsets and splits copy the selected samples, so datasets never alias each other. The images
/// tensor is exposed for speed; callers must treat it as read-only.
/// </remarks>
public sealed class ImageDataset
{
    private readonly int[] _labels;

    /// <summary>Images, [N, C, H, W], contiguous.</summary>
    public Tensor Images { get; }
    /// <summary>Labels, one per image, in [0, <see cref="NumClasses"/>).</summary>
    public IReadOnlyList<int> Labels => _labels;
    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }
    /// <summary>Optional human-readable class names (length <see cref="NumClasses"/>).</summary>
    public IReadOnlyList<string>? ClassNames { get; }
    /// <summary>The normalisation the images were produced with (null when unknown).</summary>
    public Normalization? Normalization { get; }

    /// <summary>Number of samples N.</summary>
    public int Count => Images.Shape[0];
    /// <summary>Channels C.</summary>
    public int Channels => Images.Shape[1];
    /// <summary>Height H.</summary>
    public int Height => Images.Shape[2];
    /// <summary>Width W.</summary>
    public int Width => Images.Shape[3];
    /// <summary>Floats per sample, C * H * W.</summary>
    public int SampleSize => Channels * Height * Width;
    /// <summary>Shape of one sample, [C, H, W].</summary>
    public int[] SampleShape => new[] { Channels, Height, Width };

    /// <summary>Wraps images and labels (no copy).</summary>
    /// <exception cref="ArgumentException">Shapes disagree or a label is out of range.</exception>
    public ImageDataset(Tensor images, int[] labels, int numClasses, IReadOnlyList<string>? classNames = null, Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Rank != 4) throw new ArgumentException($"images must be [N, C, H, W], got {ShapeUtil.Format(images.Shape)}", nameof(images));
        if (!images.IsContiguous) throw new ArgumentException("images must be contiguous", nameof(images));
        if (labels.Length != images.Shape[0]) throw new ArgumentException($"{images.Shape[0]} images but {labels.Length} labels", nameof(labels));
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), "must be positive");
        if (classNames is not null && classNames.Count != numClasses)
            throw new ArgumentException($"{classNames.Count} class names for {numClasses} classes", nameof(classNames));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)numClasses)
                throw new ArgumentException($"label {labels[i]} at index {i} is out of range for {numClasses} classes", nameof(labels));
        normalization?.CheckChannels(images.Shape[1]);
        Images = images; _labels = labels; NumClasses = numClasses; ClassNames = classNames; Normalization = normalization;
    }

    /// <summary>
    /// Builds a dataset from raw bytes [N, C, H, W]: each byte b becomes (b / 255 - mean) / std.
    /// </summary>
    public static ImageDataset FromBytes(ReadOnlySpan<byte> pixels, int[] shape, int[] labels, int numClasses,
        Normalization normalization, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(normalization);
        if (shape.Length != 4) throw new ArgumentException($"shape must be [N, C, H, W], got {ShapeUtil.Format(shape)}", nameof(shape));
        int n = ShapeUtil.Numel(shape);
        if (pixels.Length != n) throw new ArgumentException($"shape {ShapeUtil.Format(shape)} needs {n} bytes, got {pixels.Length}", nameof(pixels));
        int c = shape[1], plane = shape[2] * shape[3];
        normalization.CheckChannels(c);
        var dst = new float[n];
        var tables = Enumerable.Range(0, c).Select(normalization.ByteTable).ToArray();
        int sample = c * plane;
        for (int o = 0; o < n; o += sample)
        {
            for (int ch = 0; ch < c; ch++)
            {
                var t = tables[ch];
                var src = pixels.Slice(o + ch * plane, plane);
                var d = dst.AsSpan(o + ch * plane, plane);
                for (int i = 0; i < src.Length; i++) d[i] = t[src[i]];
            }
        }
        return new ImageDataset(new Tensor(dst, shape), labels, numClasses, classNames, normalization);
    }

    /// <summary>The floats of sample <paramref name="index"/>, [C, H, W].</summary>
    public ReadOnlySpan<float> Sample(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), $"index {index} out of range for {Count} samples");
        return Images.Storage.AsSpan(Images.Offset + index * SampleSize, SampleSize);
    }

    /// <summary>The label of sample <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[index];

    /// <summary>A copy of the samples at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices)
    {
        int ss = SampleSize;
        var data = new float[(long)indices.Length * ss];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            Sample(indices[i]).CopyTo(data.AsSpan(i * ss, ss));
            labels[i] = _labels[indices[i]];
        }
        return new ImageDataset(new Tensor(data, indices.Length, Channels, Height, Width), labels, NumClasses, ClassNames, Normalization);
    }

    /// <summary>A copy of the first <paramref name="count"/> samples (all when fewer).</summary>
    public ImageDataset Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return Subset(Enumerable.Range(0, Math.Min(count, Count)).ToArray());
    }

    /// <summary>A copy of <paramref name="count"/> distinct samples chosen at random (seeded), in ascending index order.</summary>
    public ImageDataset RandomSubset(int count, ulong seed)
    {
        if (count < 0 || count > Count) throw new ArgumentOutOfRangeException(nameof(count), $"must be in [0, {Count}]");
        var perm = Permutation(Count, seed);
        var pick = perm.AsSpan(0, count);
        pick.Sort();
        return Subset(pick);
    }

    /// <summary>
    /// Carves a validation set of <paramref name="validationCount"/> random samples (seeded) out of
    /// this dataset; both parts keep ascending index order and together hold every sample once.
    /// </summary>
    public (ImageDataset Train, ImageDataset Validation) SplitValidation(int validationCount, ulong seed)
    {
        if (validationCount < 0 || validationCount > Count)
            throw new ArgumentOutOfRangeException(nameof(validationCount), $"must be in [0, {Count}]");
        var perm = Permutation(Count, seed);
        var val = perm.AsSpan(0, validationCount);
        var train = perm.AsSpan(validationCount);
        val.Sort(); train.Sort();
        return (Subset(train), Subset(val));
    }

    /// <summary>Number of samples per class.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[NumClasses];
        foreach (int l in _labels) counts[l]++;
        return counts;
    }

    /// <summary>Per-channel mean and standard deviation of the current values.</summary>
    public Normalization ComputeStatistics()
    {
        if (Count == 0) throw new InvalidOperationException("cannot compute statistics of an empty dataset");
        int c = Channels, plane = Height * Width;
        var mean = new float[c];
        var std = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0, s2 = 0;
            for (int i = 0; i < Count; i++)
            {
                foreach (float v in Sample(i).Slice(ch * plane, plane)) { s += v; s2 += (double)v * v; }
            }
            double n = (double)Count * plane, mu = s / n;
            mean[ch] = (float)mu;
            std[ch] = (float)Math.Max(Math.Sqrt(Math.Max(s2 / n - mu * mu, 0)), 1e-6);
        }
        return new Normalization(mean, std);
    }

    private static int[] Permutation(int n, ulong seed)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        new Rng(seed).Shuffle(p.AsSpan());
        return p;
    }
}
