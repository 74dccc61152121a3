using DeepShrink.Core;

namespace DeepShrink.Onnx.Import;

/// <summary>
/// What an ONNX preprocessing graph does to an image, as per-channel normalisation of [0, 1] pixels:
/// model channel <c>c</c> receives <c>(p[ChannelOrder[c]] - Mean[c]) / Std[c]</c>.
/// </summary>
/// <param name="Mean">Per model channel mean, in [0, 1] pixel units.</param>
/// <param name="Std">Per model channel standard deviation, in [0, 1] pixel units.</param>
/// <param name="ChannelOrder">Image channel read by each model channel (e.g. [2, 1, 0]: RGB in, BGR to the model).</param>
/// <param name="MaxPixelDeviation">Largest distance, in the model's input units, between the graph's per-pixel offset and its per-channel mean (0 for a pure per-channel shift; a mean image gives more).</param>
public sealed record ImagePreprocessing(float[] Mean, float[] Std, int[] ChannelOrder, float MaxPixelDeviation)
{
    /// <summary>
    /// Measures a preprocessing graph in ONNX Runtime (one float input [1, C, H, W], output of the same
    /// shape) that maps raw pixels in 0..<paramref name="pixelRange"/> per channel affinely, possibly
    /// reordering channels: a zero image gives the offsets, one unit image per channel the slopes.
    /// Throws <see cref="InvalidDataException"/> when the graph is not of that form.
    /// </summary>
    public static ImagePreprocessing Measure(string path, float pixelRange = 255f)
    {
        using var s = new OnnxSession(path, threads: 1);
        if (s.SampleShape.Length != 3) throw new InvalidDataException($"{path}: preprocessing input must be [1, C, H, W], got [1, {string.Join(", ", s.SampleShape)}]");
        int ch = s.SampleShape[0], plane = s.SampleShape[1] * s.SampleShape[2];
        var zero = s.Run(new float[ch * plane], 1).Values;
        if (zero.Length != ch * plane) throw new InvalidDataException($"{path}: preprocessing output has {zero.Length} values, expected {ch * plane}");
        var offset = new double[ch];
        float dev = 0;
        for (int c = 0; c < ch; c++)
        {
            var span = zero.AsSpan(c * plane, plane);
            foreach (float v in span) offset[c] += v;
            offset[c] /= plane;
            foreach (float v in span) dev = Math.Max(dev, (float)Math.Abs(v - offset[c]));
        }
        var slope = new double[ch, ch];
        for (int k = 0; k < ch; k++)
        {
            var x = new float[ch * plane];
            x.AsSpan(k * plane, plane).Fill(1f);
            var y = s.Run(x, 1).Values;
            for (int c = 0; c < ch; c++)
            {
                double sum = 0;
                for (int i = 0; i < plane; i++) sum += y[c * plane + i] - zero[c * plane + i];
                slope[c, k] = sum / plane;
            }
        }
        var mean = new float[ch];
        var std = new float[ch];
        var order = new int[ch];
        for (int c = 0; c < ch; c++)
        {
            var nz = Enumerable.Range(0, ch).Where(k => Math.Abs(slope[c, k]) > 1e-6).ToArray();
            if (nz.Length != 1 || slope[c, nz[0]] <= 0)
                throw new InvalidDataException($"{path}: output channel {c} is not a positive scaling of one input channel");
            double a = slope[c, nz[0]] * pixelRange;
            order[c] = nz[0];
            std[c] = (float)(1 / a);
            mean[c] = (float)(-offset[c] / a);
        }
        return new ImagePreprocessing(mean, std, order, dev);
    }
}
