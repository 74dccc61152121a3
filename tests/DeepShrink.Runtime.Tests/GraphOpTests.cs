using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Tests;

/// <summary>Hand-built graphs covering every op and odd shapes, checked against <see cref="ReferenceRunner"/>.</summary>
public class GraphOpTests
{
    private const float Tol = 1e-5f;

    [Fact]
    public void DenseOpsMatchTheReference()
    {
        var f = new Fixture(20, [2, 3, 5]);
        var g = f.G;
        string v = g.Add("f0", "flatten", [g.Graph.Input], null, new() { ["start_axis"] = 2 });           // [2, 15]
        v = f.Bn("bn0", v, 2);                                                                   // over 2 channels of 15
        v = g.Add("act0", "leaky_relu", [v], null, new() { ["slope"] = 0.2 });
        v = g.Add("f1", "flatten", [v], null, new() { ["start_axis"] = 1 });                             // [30]
        v = f.Linear("fc1", v, 30, 17, "sparse-codebook");
        var skip = f.Bn("bn1", v, 17);
        v = g.Add("relu1", "relu", [skip]);
        v = f.Linear("fc2", v, 17, 17, "lowrank");
        v = g.Add("add", "add", [v, skip]);
        v = g.Add("tanh", "tanh", [v]);
        v = g.Add("id", "identity", [v]);
        v = f.Linear("fc3", v, 17, 9, "sparse-f32", bias: false);
        v = g.Add("sig", "sigmoid", [v]);
        var gelu = g.Add("gelu", "gelu", [v]);
        v = g.Add("add2", "add", [gelu, v]);
        f.Check(g.Finish(v), batches: [1, 4]);
    }

    [Fact]
    public void ConvAndPoolOpsMatchTheReference()
    {
        var f = new Fixture(21, [3, 11, 9]);
        var g = f.G;
        string v = f.Conv("c1", g.Graph.Input, 3, 8, 3, stride: 2, pad: 1, dilation: 1, groups: 1, "sparse-codebook");
        v = f.Bn("bn1", v, 8);
        v = g.Add("r1", "relu", [v]);
        var skip = v;
        v = f.Conv("c2", v, 8, 8, 3, stride: 1, pad: 2, dilation: 2, groups: 2, "sparse-f32");
        v = g.Add("add", "add", [v, skip]);
        v = g.Add("r2", "relu", [v]);
        v = g.Add("mp", "maxpool2d", [v], null, new() { ["kernel"] = 3, ["stride"] = 2, ["pad"] = 1 });
        v = f.Conv("c3", v, 8, 6, 1, stride: 1, pad: 0, dilation: 1, groups: 1, "lowrank");
        v = g.Add("ap", "avgpool2d", [v], null, new() { ["kernel"] = 2, ["stride"] = 1, ["pad"] = 1 });
        var pooled = g.Add("gap", "global_avgpool2d", [v]);
        v = g.Add("fl", "flatten", [pooled], null, new() { ["start_axis"] = 1 });
        v = f.Linear("fc", v, 6, 4, "dense-f32");
        f.Check(g.Finish(v), batches: [1, 3]);
    }

    /// <summary>A graph under construction with its tensors (reference values and stored encodings).</summary>
    private sealed class Fixture(ulong seed, int[] sample)
    {
        private readonly Rng _rng = new(seed);
        private readonly Dictionary<string, Tensor> _tensors = new();
        private readonly Dictionary<string, EncodedTensor> _encoded = new();
        public GraphBuilder G { get; } = new(sample);

        public void Check(ModelGraph graph, int[] batches) => ReferenceRunner.AssertRuntimeMatches(graph, _encoded, batches, _rng, Tol);

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
}
