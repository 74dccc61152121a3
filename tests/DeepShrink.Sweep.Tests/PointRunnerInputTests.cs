using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Sweep.Tests;

public class PointRunnerInputTests
{
    // A sweep point on a model whose input is not the dataset's (3 x 32 x 32 colour vs 1 x 28 x 28 grey IDX images)
    // gets the data resized and converted as the CLI verbs do, instead of failing on the shape.
    [Fact]
    public void PointOnAModelWithAnotherInputSizeRunsOnResizedImages()
    {
        var dir = Directory.CreateTempSubdirectory("deepshrink-point-").FullName;
        try
        {
            SyntheticData.WriteIdxDirectory(Path.Combine(dir, "idx"), 300, 100, numClasses: 10, seed: 5);
            var config = new ModelConfig { InChannels = 3, ImageSize = 32 };
            var model = ModelZoo.Create("lenet-5", config, new Rng(3));
            ModelIO.Save(Path.Combine(dir, "base.safetensors"), model, "lenet-5", config,
                new Dictionary<string, string> { [ModelIO.ValidationCountKey] = "50", [ModelIO.DatasetKey] = "idx:" + Path.Combine(dir, "idx") });
            File.WriteAllText(Path.Combine(dir, "r.yaml"), """
                version: 1
                training: {optimizer: sgd, lr: 0.02, momentum: 0.9, batch_size: 50}
                components:
                  pruner: {type: magnitude-pruning, sparsity: 0.5, layers: [{match: "*.bias", skip: true}]}
                policies:
                  - {component: pruner, start_epoch: 0, end_epoch: 1, frequency: 1}
                """);
            File.WriteAllText(Path.Combine(dir, "s.yaml"), "version: 1\nmodel: base.safetensors\nrecipe: r.yaml\naxes:\n  seed: [1]\n");
            var plan = SweepPlan.Create(SweepSpec.Load(Path.Combine(dir, "s.yaml")));
            var job = plan.Jobs[0];
            var r = PointRunner.Run(job, plan.LocalBlobs[job.Model.Sha256], plan.DatasetDir, Path.Combine(dir, "p.dsz"), "test");
            Assert.True(File.Exists(Path.Combine(dir, "p.dsz")));
            Assert.InRange(r.CompressedAccuracy, 0.0, 1.0);
            Assert.True(r.CompressedBytes > 0);
            Assert.InRange(r.BaselineAccuracy, 0.0, 1.0);
        }
        finally { Directory.Delete(dir, true); }
    }
}
