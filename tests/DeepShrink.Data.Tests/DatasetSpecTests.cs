namespace DeepShrink.Data.Tests;

public class DatasetSpecTests
{
    [Theory]
    [InlineData("fashion-mnist", DatasetKind.FashionMnist, DatasetSpec.FashionMnistDirectory, true)]
    [InlineData("  Fashion-MNIST ", DatasetKind.FashionMnist, DatasetSpec.FashionMnistDirectory, true)]
    [InlineData("fashion-mnist:/data/fm", DatasetKind.FashionMnist, "/data/fm", false)]
    [InlineData("mnist", DatasetKind.Mnist, DatasetSpec.MnistDirectory, true)]
    [InlineData("mnist:rel/dir", DatasetKind.Mnist, "rel/dir", false)]
    [InlineData("idx:/tmp/x:y", DatasetKind.Idx, "/tmp/x:y", false)]
    [InlineData("IDX:C:\\data", DatasetKind.Idx, "C:\\data", false)]
    public void Parse_ValidSpecs(string text, DatasetKind kind, string dir, bool isDefault)
    {
        var s = DatasetSpec.Parse(text);
        Assert.Equal(kind, s.Kind);
        Assert.Equal(dir, s.Directory);
        Assert.Equal(isDefault, s.IsDefaultDirectory);
        Assert.Equal(s, DatasetSpec.Parse(s.ToString()));
    }

    [Theory]
    [InlineData("", "empty dataset name")]
    [InlineData("cifar10", "unknown dataset 'cifar10'")]
    [InlineData("idx", "idx needs a directory")]
    [InlineData("idx:", "empty directory")]
    [InlineData("fashion-mnist:  ", "empty directory")]
    public void Parse_InvalidSpecs_ThrowOneLineErrors(string text, string expected)
    {
        var ex = Assert.Throws<DatasetException>(() => DatasetSpec.Parse(text));
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void MissingDirectory_SaysWhatToDo()
    {
        using var dir = new TempDir();
        string missing = dir.File("absent");
        var ex = Assert.Throws<DatasetException>(() => DatasetSpec.Parse("idx:" + missing).ResolveFiles());
        Assert.Contains(missing, ex.Message);
        Assert.Contains("train-images-idx3-ubyte[.gz]", ex.Message);
        Assert.Contains("does not exist", Assert.Throws<DatasetException>(() => DatasetSpec.Parse("fashion-mnist:" + missing).Load()).Message);
    }

    [Fact]
    public void DefaultFashionMnistMessage_NamesTheDebianPackage()
    {
        if (Directory.Exists(DatasetSpec.FashionMnistDirectory)) return; // only meaningful where it is absent
        var ex = Assert.Throws<DatasetException>(() => DatasetSpec.Parse("fashion-mnist").ResolveFiles());
        Assert.Contains("apt-get install dataset-fashion-mnist", ex.Message);
    }

    [Fact]
    public void MissingFile_IsNamed()
    {
        using var dir = new TempDir();
        SyntheticData.WriteIdxDirectory(dir.Path, 20, 10, height: 4, width: 4);
        File.Delete(dir.File("t10k-labels-idx1-ubyte"));
        var ex = Assert.Throws<DatasetException>(() => DatasetSpec.Parse("idx:" + dir.Path).Load());
        Assert.Contains("has no t10k-labels-idx1-ubyte[.gz]", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxDirectory_LoadsRawOrGzip(bool gzip)
    {
        using var dir = new TempDir();
        SyntheticData.WriteIdxDirectory(dir.Path, 50, 20, numClasses: 5, height: 6, width: 7, gzip: gzip, seed: 3);
        var d = DatasetSpec.Parse("idx:" + dir.Path).Load();
        Assert.Equal(new[] { 50, 1, 6, 7 }, d.Train.Images.Shape);
        Assert.Equal(new[] { 20, 1, 6, 7 }, d.Test.Images.Shape);
        Assert.Equal(5, d.Train.NumClasses);
        // Labels are generated balanced over train + test (70 samples, 5 classes).
        Assert.Equal(new[] { 14, 14, 14, 14, 14 }, d.Train.ClassCounts().Zip(d.Test.ClassCounts(), (a, b) => a + b));
        Assert.Null(d.Validation);
        // idx has no documented constants: statistics come from the training images, so the
        // normalised training set has mean ~0 and std ~1.
        var stats = d.Train.ComputeStatistics();
        Assert.InRange(stats.Mean[0], -1e-4f, 1e-4f);
        Assert.InRange(stats.Std[0], 1 - 1e-4f, 1 + 1e-4f);
    }

    [Fact]
    public void DottedFileNames_AreAcceptedToo()
    {
        using var dir = new TempDir();
        var files = SyntheticData.WriteIdxDirectory(dir.Path, 10, 10, height: 3, width: 3);
        foreach (var f in new[] { files.TrainImages, files.TrainLabels, files.TestImages, files.TestLabels })
            File.Move(f, f.Replace("-idx", ".idx", StringComparison.Ordinal));
        Assert.Equal(10, DatasetSpec.Parse("idx:" + dir.Path).Load().Train.Count);
    }

    [Fact]
    public void CountMismatch_LabelRange_AndShapeMismatch_AreReported()
    {
        using var dir = new TempDir();
        var files = SyntheticData.WriteIdxDirectory(dir.Path, 12, 6, height: 4, width: 4);
        var spec = DatasetSpec.Parse("fashion-mnist:" + dir.Path);

        IdxWriter.WriteFile(files.TrainLabels, new byte[11], new[] { 11 }, gzip: false);
        var ex = Assert.Throws<DatasetException>(() => spec.Load());
        Assert.Contains("has 11 labels but train-images-idx3-ubyte has 12 images", ex.Message);

        var labels = new byte[12]; labels[5] = 10;
        IdxWriter.WriteFile(files.TrainLabels, labels, new[] { 12 }, gzip: false);
        ex = Assert.Throws<DatasetException>(() => spec.Load());
        Assert.Contains("label 10 at index 5 is out of range for fashion-mnist (10 classes)", ex.Message);
        // idx has no fixed class count: label 10 simply makes 11 classes.
        Assert.Equal(11, DatasetSpec.Parse("idx:" + dir.Path).Load().Train.NumClasses);

        IdxWriter.WriteFile(files.TrainLabels, new byte[12], new[] { 12 }, gzip: false);
        IdxWriter.WriteFile(files.TestImages, new byte[6 * 5 * 4], new[] { 6, 5, 4 }, gzip: false);
        ex = Assert.Throws<DatasetException>(() => spec.Load());
        Assert.Contains("images are 1x5x4 but the training images are 1x4x4", ex.Message);
    }

    [Fact]
    public void LoadOptions_ValidationSplit_AndNormalisationChoices()
    {
        using var dir = new TempDir();
        SyntheticData.WriteIdxDirectory(dir.Path, 40, 10, height: 5, width: 5, seed: 9);
        var spec = DatasetSpec.Parse("fashion-mnist:" + dir.Path);
        var d = spec.Load(new DatasetLoadOptions { ValidationCount = 8 });
        Assert.Equal(32, d.Train.Count);
        Assert.Equal(8, d.Validation!.Count);
        Assert.Same(Normalization.FashionMnist, d.Normalization);
        Assert.Equal(DatasetSpec.FashionMnistClassNames, d.Train.ClassNames);

        var computed = spec.Load(new DatasetLoadOptions { ComputeNormalization = true }).Normalization;
        Assert.NotEqual(Normalization.FashionMnist.Mean[0], computed.Mean[0]);
        var identity = spec.Load(new DatasetLoadOptions { Normalization = Normalization.Identity });
        Assert.All(identity.Train.Images.ToArray(), v => Assert.InRange(v, 0f, 1f));
        Assert.Throws<DatasetException>(() => spec.Load(new DatasetLoadOptions { ValidationCount = 40 }));
    }
}
