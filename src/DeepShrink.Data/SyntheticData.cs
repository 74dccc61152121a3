using DeepShrink.Core;

namespace DeepShrink.Data;

/// <summary>
/// Small generated datasets for tests: separable "blob" classification images, in memory or
/// written as a directory of the four standard IDX files.
/// </summary>
/// <remarks>
/// Each class c has a random prototype image P_c; a sample of class c is P_c plus independent
/// Gaussian noise of standard deviation <c>noise</c>. With noise well below the prototype spread the
/// classes are (with overwhelming probability) linearly separable, so a small model learns them in
/// a few steps. Labels are balanced (round robin) and then shuffled.
/// </remarks>
public static class SyntheticData
{
    /// <summary>A separable in-memory dataset of <paramref name="count"/> images [C, H, W] (values roughly N(0, 1 + noise^2)).</summary>
    public static ImageDataset Blobs(int count, int numClasses, int channels, int height, int width, ulong seed, float noise = 0.5f)
    {
        Check(count, numClasses, channels, height, width);
        var rng = new Rng(seed);
        int ss = channels * height * width;
        var protos = Tensor.Randn(rng.Fork(), 1f, numClasses, ss).Storage;
        var labels = BalancedLabels(count, numClasses, rng);
        var data = new float[(long)count * ss];
        for (int i = 0; i < count; i++)
        {
            int o = i * ss, p = labels[i] * ss;
            for (int j = 0; j < ss; j++) data[o + j] = protos[p + j] + (float)(rng.NextGaussian() * noise);
        }
        return new ImageDataset(new Tensor(data, count, channels, height, width), labels, numClasses);
    }

    /// <summary>
    /// Separable byte images [count, height, width] with labels: class prototypes are random bytes in
    /// [0, 255], samples add Gaussian noise of <paramref name="noise"/> grey levels and clamp.
    /// </summary>
    public static (byte[] Pixels, byte[] Labels) BlobBytes(int count, int numClasses, int height, int width, ulong seed, double noise = 40)
    {
        Check(count, numClasses, 1, height, width);
        if (numClasses > 256) throw new ArgumentOutOfRangeException(nameof(numClasses), "IDX labels are bytes: at most 256 classes");
        var rng = new Rng(seed);
        int ss = height * width;
        var protoRng = rng.Fork();
        var protos = new byte[numClasses * ss];
        for (int i = 0; i < protos.Length; i++) protos[i] = (byte)protoRng.NextInt(256);
        var labels = BalancedLabels(count, numClasses, rng);
        var pixels = new byte[(long)count * ss];
        for (int i = 0; i < count; i++)
            for (int j = 0; j < ss; j++)
                pixels[i * ss + j] = (byte)Math.Clamp(Math.Round(protos[labels[i] * ss + j] + rng.NextGaussian() * noise), 0, 255);
        return (pixels, labels.Select(l => (byte)l).ToArray());
    }

    /// <summary>
    /// Writes a synthetic dataset as the four standard IDX files (gzip-compressed with a <c>.gz</c>
    /// suffix when <paramref name="gzip"/>) into <paramref name="directory"/>, creating it if needed.
    /// Train and test samples come from the same class prototypes.
    /// </summary>
    public static IdxFileSet WriteIdxDirectory(string directory, int trainCount, int testCount, int numClasses = 10,
        int height = 28, int width = 28, bool gzip = false, ulong seed = 1)
    {
        Directory.CreateDirectory(directory);
        var (pix, lab) = BlobBytes(trainCount + testCount, numClasses, height, width, seed);
        int ss = height * width;
        string ext = gzip ? ".gz" : "";
        var paths = IdxFileSet.StandardNames.Select(n => Path.Combine(directory, n + ext)).ToArray();
        IdxWriter.WriteFile(paths[0], pix.AsSpan(0, trainCount * ss), new[] { trainCount, height, width }, gzip);
        IdxWriter.WriteFile(paths[1], lab.AsSpan(0, trainCount), new[] { trainCount }, gzip);
        IdxWriter.WriteFile(paths[2], pix.AsSpan(trainCount * ss), new[] { testCount, height, width }, gzip);
        IdxWriter.WriteFile(paths[3], lab.AsSpan(trainCount), new[] { testCount }, gzip);
        return new IdxFileSet(paths[0], paths[1], paths[2], paths[3]);
    }

    private static int[] BalancedLabels(int count, int numClasses, Rng rng)
    {
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = i % numClasses;
        rng.Shuffle(labels.AsSpan());
        return labels;
    }

    private static void Check(int count, int numClasses, int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
    }
}
