using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Tests;

/// <summary>A graph under construction with its tensors (reference values and stored encodings).</summary>
internal sealed class GraphFixture(ulong seed, int[] sample)
{
    private readonly Rng _rng = new(seed);
    private readonly Dictionary<string, Tensor> _tensors = new();
    private readonly Dictionary<string, EncodedTensor> _encoded = new();
    public GraphBuilder G { get; } = new(sample);

    /// <summary>Loads the graph under every kernel policy and compares each batch size with the reference.</summary>
    public void Check(ModelGraph graph, int[] batches, float tol = 1e-5f) => ReferenceRunner.AssertRuntimeMatches(graph, _encoded, batches, _rng, tol);

    /// <summary>
    /// Loads the graph with <paramref name="options"/> and compares each batch size with the reference (tolerance
    /// times the largest reference magnitude when <paramref name="relative"/>, at least 1); returns the model.
    /// </summary>
    public InferenceModel Check(ModelGraph graph, int[] batches, RuntimeOptions options, float tol, bool relative = true)
    {
        var decoded = _encoded.ToDictionary(kv => kv.Key, kv => kv.Value.DecodeTensor());
        var m = Load(graph, options);
        foreach (int b in batches)
        {
            var x = Tensor.Randn(_rng, 1f, [b, .. sample]);
            var want = ReferenceRunner.Run(graph, decoded, x);
            var got = m.Forward(x);
            Assert.Equal(want.Shape, got.Shape);
            float scale = relative ? Math.Max(1f, want.Span.ToArray().Max(MathF.Abs)) : 1f;
            Assert.True(want.MaxAbsDiff(got) <= tol * scale, $"{options.Kernels} threads {options.Threads} fold {options.FoldBatchNorm} batch {b}: {want.MaxAbsDiff(got)} (scale {scale})");
        }
        return m;
    }

    /// <summary>Loads the graph in the runtime from the stored encodings.</summary>
    public InferenceModel Load(ModelGraph graph, RuntimeOptions options) =>
        InferenceModel.Load(graph, n => _encoded.GetValueOrDefault(n), null, options);

    public string Linear(string name, string input, int inF, int outF, string codec, bool bias = true)
    {
        var p = new Dictionary<string, string> { ["weight"] = name + ".weight" };
        Weight(name + ".weight", [outF, inF], codec);
        if (bias) { p["bias"] = name + ".bias"; Dense(name + ".bias", Tensor.Randn(_rng, 0.5f, outF)); }
        return G.Add(name, "linear", [input], p);
    }

    public string Conv(string name, string input, int inC, int outC, int k, int stride, int pad, int dilation, int groups, string codec)
    {
        Weight(name + ".weight", [outC, inC / groups, k, k], codec);
        Dense(name + ".bias", Tensor.Randn(_rng, 0.5f, outC));
        return G.Add(name, "conv2d", [input], new() { ["weight"] = name + ".weight", ["bias"] = name + ".bias" }, new()
        {
            ["stride_h"] = stride, ["stride_w"] = stride, ["pad_h"] = pad, ["pad_w"] = pad,
            ["dilation_h"] = dilation, ["dilation_w"] = dilation, ["groups"] = groups,
        });
    }

    public string Bn(string name, string input, int c)
    {
        Dense(name + ".weight", Tensor.Uniform(_rng, 0.5f, 1.5f, c));
        Dense(name + ".bias", Tensor.Randn(_rng, 0.3f, c));
        Dense(name + ".running_mean", Tensor.Randn(_rng, 0.3f, c));
        Dense(name + ".running_var", Tensor.Uniform(_rng, 0.5f, 2f, c));
        return G.Add(name, "batchnorm", [input], new()
        {
            ["weight"] = name + ".weight", ["bias"] = name + ".bias",
            ["running_mean"] = name + ".running_mean", ["running_var"] = name + ".running_var",
        }, new() { ["eps"] = 1e-5 });
    }

    private void Dense(string name, Tensor t) => _encoded[name] = DenseCodec.EncodeF32(t.Span, t.Shape);

    private void Weight(string name, int[] shape, string codec)
    {
        var w = Tensor.Randn(_rng, 0.5f, shape);
        _encoded[name] = TestModels.Codec(codec)(name, w) ?? DenseCodec.EncodeF32(w.Span, shape);
    }
}
