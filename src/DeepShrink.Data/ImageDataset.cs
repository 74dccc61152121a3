using DeepShrink.Core;

namespace DeepShrink.Data;

/// <summary>
/// An in-memory labelled image dataset: N images of shape [C, H, W] and one integer label in
/// [0, NumClasses) per image.
/// </summary>
/// <remarks>
/// Two storages: float32 (<see cref="ImageDataset(Tensor, int[], int, IReadOnlyList{string}?, Normalization?)"/>)
/// or raw bytes plus a <see cref="Data.Normalization"/> (<see cref="FromBytes"/>, used for IDX data).
/// Byte storage is 4x smaller and converts each sample on the fly with a 256-entry table
/// (<c>(b / 255 - mean) / std</c>) when the <see cref="DataLoader"/> copies it into a batch, so
/// loading 60k images does not touch 188 MB of fresh memory. <see cref="Images"/> materialises the
/// whole float tensor on first use (and caches it). Subsets and splits copy the selected samples
/// and keep the storage kind, so datasets never alias each other. Treat <see cref="Images"/> as read-only.
/// </remarks>
public sealed class ImageDataset
{
    private readonly int[] _labels;
    private readonly int[] _shape;        // [N, C, H, W]
    private readonly byte[]? _bytes;      // [N, C, H, W] when byte-backed
    private readonly float[][]? _tables;  // per-channel byte -> float tables when byte-backed
    private Tensor? _images;              // float storage, or the cached materialisation of _bytes

    /// <summary>Labels, one per image, in [0, <see cref="NumClasses"/>).</summary>
    public IReadOnlyList<int> Labels => _labels;
    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }
    /// <summary>Optional human-readable class names (length <see cref="NumClasses"/>).</summary>
    public IReadOnlyList<string>? ClassNames { get; }
    /// <summary>The normalisation the images were produced with (null when unknown).</summary>
    public Normalization? Normalization { get; }
    /// <summary>True when samples are stored as bytes and converted on access.</summary>
    public bool IsByteBacked => _bytes is not null;

    /// <summary>Number of samples N.</summary>
    public int Count => _shape[0];
    /// <summary>Channels C.</summary>
    public int Channels => _shape[1];
    /// <summary>Height H.</summary>
    public int Height => _shape[2];
    /// <summary>Width W.</summary>
    public int Width => _shape[3];
    /// <summary>Floats per sample, C * H * W.</summary>
    public int SampleSize => Channels * Height * Width;
    /// <summary>Shape of one sample, [C, H, W].</summary>
    public int[] SampleShape => new[] { Channels, Height, Width };

    /// <summary>Wraps float images [N, C, H, W] and labels (no copy).</summary>
    /// <exception cref="ArgumentException">Shapes disagree or a label is out of range.</exception>
    public ImageDataset(Tensor images, int[] labels, int numClasses, IReadOnlyList<string>? classNames = null, Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank != 4) throw new ArgumentException($"images must be [N, C, H, W], got {ShapeUtil.Format(images.Shape)}", nameof(images));
        if (!images.IsContiguous) throw new ArgumentException("images must be contiguous", nameof(images));
        _shape = (int[])images.Shape.Clone();
        _images = images;
        _labels = CheckLabels(labels, numClasses, classNames, normalization);
        NumClasses = numClasses; ClassNames = classNames; Normalization = normalization;
    }

    private ImageDataset(byte[] bytes, int[] shape, int[] labels, int numClasses, IReadOnlyList<string>? classNames, Normalization normalization)
    {
        _shape = shape; _bytes = bytes;
        _labels = CheckLabels(labels, numClasses, classNames, normalization);
        _tables = Enumerable.Range(0, shape[1]).Select(normalization.ByteTable).ToArray();
        NumClasses = numClasses; ClassNames = classNames; Normalization = normalization;
    }

    private int[] CheckLabels(int[] labels, int numClasses, IReadOnlyList<string>? classNames, Normalization? normalization)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length != _shape[0]) throw new ArgumentException($"{_shape[0]} images but {labels.Length} labels", nameof(labels));
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), "must be positive");
        if (classNames is not null && classNames.Count != numClasses)
            throw new ArgumentException($"{classNames.Count} class names for {numClasses} classes", nameof(classNames));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)numClasses)
                throw new ArgumentException($"label {labels[i]} at index {i} is out of range for {numClasses} classes", nameof(labels));
        normalization?.CheckChannels(_shape[1]);
        return labels;
    }

    /// <summary>
    /// A byte-backed dataset over raw pixels [N, C, H, W] (no copy): byte b of channel c reads as
    /// <c>(b / 255 - mean[c]) / std[c]</c>.
    /// </summary>
    public static ImageDataset FromBytes(byte[] pixels, int[] shape, int[] labels, int numClasses,
        Normalization normalization, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(normalization);
        if (shape.Length != 4) throw new ArgumentException($"shape must be [N, C, H, W], got {ShapeUtil.Format(shape)}", nameof(shape));
        int n = ShapeUtil.Numel(shape);
        if (pixels.Length != n) throw new ArgumentException($"shape {ShapeUtil.Format(shape)} needs {n} bytes, got {pixels.Length}", nameof(pixels));
        return new ImageDataset(pixels, (int[])shape.Clone(), labels, numClasses, classNames, normalization);
    }

    /// <summary>All images as one float tensor [N, C, H, W] (materialised and cached on first use when byte-backed).</summary>
    public Tensor Images
    {
        get
        {
            if (_images is not null) return _images;
            var t = new Tensor(_shape);
            var dst = t.Span;
            int ss = SampleSize;
            for (int i = 0; i < Count; i++) CopySample(i, dst.Slice(i * ss, ss));
            Interlocked.CompareExchange(ref _images, t, null);
            return _images;
        }
    }

    /// <summary>Writes sample <paramref name="index"/> as floats into <paramref name="destination"/>.</summary>
    /// <param name="index">Sample index.</param>
    /// <param name="destination">[C, H, W] (at least <see cref="SampleSize"/> floats).</param>
    public void CopySample(int index, Span<float> destination)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), $"index {index} out of range for {Count} samples");
        int ss = SampleSize;
        if (destination.Length < ss) throw new ArgumentException($"destination needs {ss} floats, has {destination.Length}", nameof(destination));
        if (_bytes is null || _images is not null)
        {
            _images!.Storage.AsSpan(_images.Offset + index * ss, ss).CopyTo(destination);
            return;
        }
        int plane = Height * Width;
        for (int c = 0; c < Channels; c++)
        {
            var t = _tables![c];
            var src = _bytes.AsSpan(index * ss + c * plane, plane);
            var d = destination.Slice(c * plane, plane);
            for (int i = 0; i < src.Length; i++) d[i] = t[src[i]];
        }
    }

    /// <summary>A fresh array holding sample <paramref name="index"/>, [C, H, W].</summary>
    public float[] Sample(int index)
    {
        var s = new float[SampleSize];
        CopySample(index, s);
        return s;
    }

    /// <summary>The label of sample <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[index];

    /// <summary>A copy of the samples at <paramref name="indices"/>, in that order (repeats allowed); keeps the storage kind.</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices)
    {
        int ss = SampleSize;
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {indices[i]} out of range for {Count} samples");
            labels[i] = _labels[indices[i]];
        }
        int[] shape = { indices.Length, Channels, Height, Width };
        if (_bytes is not null)
        {
            var bytes = new byte[(long)indices.Length * ss];
            for (int i = 0; i < indices.Length; i++) _bytes.AsSpan(indices[i] * ss, ss).CopyTo(bytes.AsSpan(i * ss, ss));
            return new ImageDataset(bytes, shape, labels, NumClasses, ClassNames, Normalization!);
        }
        var data = new float[(long)indices.Length * ss];
        for (int i = 0; i < indices.Length; i++) CopySample(indices[i], data.AsSpan(i * ss, ss));
        return new ImageDataset(new Tensor(data, shape), labels, NumClasses, ClassNames, Normalization);
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

    /// <summary>Per-channel mean and standard deviation of the (normalised) values.</summary>
    public Normalization ComputeStatistics()
    {
        if (Count == 0 || SampleSize == 0) throw new InvalidOperationException("cannot compute statistics of an empty dataset");
        int c = Channels, plane = Height * Width;
        var s = new double[c];
        var s2 = new double[c];
        var buf = new float[SampleSize];
        for (int i = 0; i < Count; i++)
        {
            CopySample(i, buf);
            for (int ch = 0; ch < c; ch++)
                foreach (float v in buf.AsSpan(ch * plane, plane)) { s[ch] += v; s2[ch] += (double)v * v; }
        }
        var mean = new float[c];
        var std = new float[c];
        double n = (double)Count * plane;
        for (int ch = 0; ch < c; ch++)
        {
            double mu = s[ch] / n;
            mean[ch] = (float)mu;
            std[ch] = (float)Math.Max(Math.Sqrt(Math.Max(s2[ch] / n - mu * mu, 0)), 1e-6);
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
