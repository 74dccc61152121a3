using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;
using DeepShrink.Nn.IO;

namespace DeepShrink.Sweep.Tests;

/// <summary>A tiny sweep on disk: synthetic IDX data (600 train, 200 test), an untrained LeNet-300-100, a quick recipe, a 12-point spec.</summary>
public sealed class SweepFixture : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("deepshrink-sweep-").FullName;
    public string SpecPath => Path.Combine(Dir, "sweep.yaml");

    public const string Recipe = """
        version: 1
        training: {optimizer: sgd, lr: 0.02, momentum: 0.9, batch_size: 50}
        components:
          pruner: {type: magnitude-pruning, sparsity: 0.5, layers: [{match: "*.bias", skip: true}]}
          quantizer: {type: weight-sharing, bits: {conv: 8, fc: 4}, layers: [{match: "*.bias", skip: true}]}
          encoder: {type: huffman}
        policies:
          - {component: pruner, start_epoch: 0, end_epoch: 1, frequency: 1}
          - {component: quantizer, start_epoch: 1, end_epoch: 2}
          - {component: encoder, start_epoch: 2}
        """;

    public SweepFixture()
    {
        SyntheticData.WriteIdxDirectory(Path.Combine(Dir, "idx"), 600, 200, numClasses: 10, seed: 3);
        var model = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(7));
        ModelIO.Save(Path.Combine(Dir, "base.safetensors"), model, "lenet-300-100", new ModelConfig(),
            new Dictionary<string, string> { [ModelIO.ValidationCountKey] = "100", [ModelIO.DatasetKey] = "idx:" + Path.Combine(Dir, "idx") });
        File.WriteAllText(Path.Combine(Dir, "quick.yaml"), Recipe);
        File.WriteAllText(SpecPath, """
            version: 1
            name: tiny
            model: base.safetensors
            recipe: quick.yaml
            threads_per_job: 1
            latency_runs: 5
            axes:
              seed: [1, 2, 3]
              recipe.components.pruner.sparsity: [0.5, 0.7, 0.8, 0.9]
            """);
    }

    public SweepPlan Plan() => SweepPlan.Create(SweepSpec.Load(SpecPath));

    public string Out(string name) => Path.Combine(Dir, name);

    public void Dispose() { try { Directory.Delete(Dir, true); } catch (IOException) { } }
}
