using DeepShrink.Compression.Quantization;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Tests;

public class QuantizationTests
{
    [Theory]
    [InlineData(-0.7f, 2.3f, 8, true)]
    [InlineData(-0.7f, 2.3f, 8, false)]
    [InlineData(0f, 5f, 8, false)]
    [InlineData(-1f, -0.25f, 4, false)]
    [InlineData(-3f, 1f, 6, true)]
    public void FromRange_RepresentsZeroExactly_AndBoundsTheErrorInRange(float lo, float hi, int bits, bool symmetric)
    {
        var p = QuantParams.FromRange(lo, hi, bits, symmetric);
        Assert.Equal(0f, p.FakeQuantize(0f));
        if (symmetric) Assert.Equal((0, -(1 << bits - 1) + 1, (1 << bits - 1) - 1), (p.ZeroPoint, p.QMin, p.QMax));
        else Assert.Equal((-(1 << bits - 1), (1 << bits - 1) - 1), (p.QMin, p.QMax));
        var rng = new Rng(1);
        float a = MathF.Min(lo, 0f), b = MathF.Max(hi, 0f);
        for (int i = 0; i < 1000; i++)
        {
            float x = a + (b - a) * rng.NextFloat();
            Assert.True(MathF.Abs(x - p.FakeQuantize(x)) <= p.Scale * 0.5001f, $"{x} -> {p.FakeQuantize(x)}");
        }
        // The range is used: its ends are (nearly) representable.
        Assert.True(p.Range.Lo <= a + p.Scale && p.Range.Hi >= b - p.Scale, $"range {p.Range} for [{a}, {b}]");
    }

    [Fact]
    public void PerChannel_BeatsPerTensor_WhenChannelScalesDiffer()
    {
        var rng = new Rng(2);
        var w = new Tensor(8, 64);
        for (int c = 0; c < 8; c++)
            for (int j = 0; j < 64; j++) w[c, j] = (float)(rng.NextGaussian() * Math.Pow(3, c - 4));
        // Relative error summed over channels: a per-tensor range crushes the small channels.
        double Err(bool perChannel)
        {
            var enc = WeightQuantizer.Encode(w, WeightQuantizer.Calibrate(w, new QuantScheme(PerChannel: perChannel)));
            var d = enc.Decode();
            var v = w.ToArray();
            return Enumerable.Range(0, 8).Sum(c => Enumerable.Range(c * 64, 64).Sum(i => Math.Pow(v[i] - d[i], 2)) / Enumerable.Range(c * 64, 64).Sum(i => Math.Pow(v[i], 2)));
        }
        Assert.True(Err(true) < Err(false) / 10, $"per-channel {Err(true)} vs per-tensor {Err(false)}");
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Encode_UsesTheInt8Codec_AndDecodesToTheFakeQuantisedValues(bool symmetric, bool perChannel)
    {
        var w = Tensor.Randn(new Rng(3), 0.1f, 6, 3, 2, 2);
        var scheme = new QuantScheme(8, symmetric, perChannel);
        var ps = WeightQuantizer.Calibrate(w, scheme);
        var enc = WeightQuantizer.Encode(w, ps);
        Assert.Equal(Int8Codec.CodecName, enc.Codec);
        var t = Int8Codec.Open(enc);
        Assert.Equal(perChannel ? 0 : null, t.Axis);
        var expected = new float[w.Size];
        WeightQuantizer.FakeQuantize(w.Span, expected, ps);
        Assert.Equal(expected, enc.Decode());
        // ~1 byte per weight plus per-channel scale and zero point.
        Assert.Equal(w.Size + 5L * ps.Length, enc.PayloadBytes);
    }

    [Fact]
    public void MseCalibration_BeatsMinMax_WithOutliers_AndPercentileClipsThem()
    {
        var rng = new Rng(4);
        var v = Enumerable.Range(0, 100_000).Select(_ => (float)rng.NextGaussian()).ToArray();
        for (int i = 0; i < 5; i++) v[i * 19_999] = 20f * (i % 2 == 0 ? 1 : -1);
        var h = RangeHistogram.Of(v);
        var minmax = h.Calibrate(CalibrationMethod.MinMax, 4, true);
        var mse = h.Calibrate(CalibrationMethod.Mse, 4, true);
        Assert.Equal(20f, minmax.Range.Hi, 3);
        Assert.True(mse.SquaredError(v) < 0.2 * minmax.SquaredError(v), $"mse {mse.SquaredError(v)} vs minmax {minmax.SquaredError(v)}");
        Assert.InRange(mse.Range.Hi, 1.5f, 4f);
        var pct = h.Calibrate(CalibrationMethod.Percentile, 8, true, 99.9);
        Assert.InRange(pct.Range.Hi, 2.9f, 3.4f); // the 99.9th percentile of N(0, 1) is 3.09
    }

    [Fact]
    public void MseCalibration_KeepsTheFullRange_ForUniformData()
    {
        var rng = new Rng(5);
        var v = Enumerable.Range(0, 20_000).Select(_ => rng.NextFloat() * 2 - 1).ToArray();
        var h = RangeHistogram.Of(v);
        var mse = h.Calibrate(CalibrationMethod.Mse, 8, true);
        Assert.InRange(mse.Range.Hi, 0.95f, 1.001f);
    }

    [Theory]
    [InlineData(10.0)]
    [InlineData(50.0)]
    [InlineData(99.0)]
    public void HistogramPercentile_OfUniformData_IsTheQuantile(double p)
    {
        var rng = new Rng(6);
        var v = Enumerable.Range(0, 50_000).Select(_ => rng.NextFloat() * 4).ToArray();
        Assert.Equal(p / 100 * 4, RangeHistogram.Of(v).Percentile(p), 1);
    }

    [Fact]
    public void InputQuantizer_CalibratesOnBatches_ThenFakeQuantisesTheLayerInput()
    {
        var rng = new Rng(7);
        var model = new Sequential(("fc1", new Linear(6, 5, rng)), ("relu", Activation.ReLU()), ("fc2", new Linear(5, 3, rng)));
        var fc2 = (Linear)model.Layers[2];
        var q = new InputQuantizer();
        fc2.ForwardHook = q;
        var batches = Enumerable.Range(0, 4).Select(_ => Tensor.Randn(rng, 1f, 16, 6)).ToList();
        InputQuantizer.CalibrateAll(model, batches, new[] { q }, new QuantScheme(8, false, false));
        float max = batches.Max(b => Ops.Relu(model.Layers[0].Forward(b)).ToArray().Max());
        var p = q.Params!.Value;
        Assert.Equal(0f, p.Range.Lo);
        Assert.True(Math.Abs(p.Range.Hi - max) <= p.Scale, $"{p.Range.Hi} vs {max}");
        // The hooked model equals fc2 applied to the fake-quantised hidden layer.
        var x = batches[0];
        var h = Ops.Relu(model.Layers[0].Forward(x));
        var expect = fc2.Forward(Ops.FakeQuantize(h, p.Scale, p.ZeroPoint, p.QMin, p.QMax));
        Assert.Equal(expect.ToArray(), model.Forward(x).ToArray());
        Assert.Equal(p.Scale, q.GraphAttrs[InputQuantizer.ScaleAttr]);
    }
}
