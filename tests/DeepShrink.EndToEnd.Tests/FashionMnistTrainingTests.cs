using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.EndToEnd.Tests;

public class FashionMnistTrainingTests
{
    [Fact]
    public void LeNet300_OnAFashionMnistSubset_LearnsWellAboveChance()
    {
        // Real data (the Debian package dataset-fashion-mnist; .ci/run and test.sh install it).
        var splits = DatasetLoader.Load(DatasetSpec.Parse("fashion-mnist"), new DatasetLoadOptions());
        var train = splits.Train.RandomSubset(3000, 1);
        var test = splits.Test.Take(1000);
        var model = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(1));
        var loader = new DataLoader(train, new DataLoaderOptions { BatchSize = 64, Seed = 1 });
        new Trainer().Fit(model, new Sgd(model.NamedParameters(), 0.05f, 0.9f, nesterov: true),
            e => loader.Epoch(e).Select(b => (b.Images, b.Labels)), 4, loader.BatchesPerEpoch);
        var eval = Trainer.Evaluate(model, new DataLoader(test, new DataLoaderOptions { BatchSize = 250, Shuffle = false }).Epoch(0).Select(b => (b.Images, b.Labels)));
        Assert.True(eval.Accuracy > 0.70f, $"accuracy {eval.Accuracy} on 1000 test images (chance is 0.10)");
    }
}
