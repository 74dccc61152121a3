namespace DeepShrink.Data;

/// <summary>Loads a <see cref="DatasetSpec"/> into memory: reads the IDX files, validates them against each other, normalises.</summary>
public static class DatasetLoader
{
    /// <summary>
    /// Reads the four IDX files of <paramref name="spec"/>, checks that image and label counts agree,
    /// that train and test images have the same size and that labels are in range, then converts
    /// pixels to normalised floats and optionally carves a validation set from the training set.
    /// <see cref="DatasetKind.ImageFolder"/> specs are read by <see cref="ImageFolderReader.Load"/>.
    /// </summary>
    /// <remarks>
    /// <see cref="DatasetLoadOptions.ImageSize"/> and <see cref="DatasetLoadOptions.Channels"/> convert
    /// the pixels (<see cref="ImageTransform.ConvertAll"/>) before normalisation, still as bytes.
    /// Normalisation: <see cref="DatasetLoadOptions.Normalization"/> when given; else the family's
    /// documented constants (<see cref="DatasetSpec.DefaultNormalization"/>); else (idx, or
    /// <see cref="DatasetLoadOptions.ComputeNormalization"/>) exact statistics of all training-file
    /// images (<see cref="Normalization.FromPixels"/>).
    /// </remarks>
    /// <exception cref="DatasetException">A file is missing or malformed, or the files disagree.</exception>
    public static DatasetSplits Load(DatasetSpec spec, DatasetLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        if (spec.Kind == DatasetKind.ImageFolder) return ImageFolderReader.Load(spec, options);
        ImageTransform.CheckOptions(options);
        var files = spec.ResolveFiles();
        var (trainPix, trainShape, trainLabels) = ReadPair(files.TrainImages, files.TrainLabels);
        var (testPix, testShape, testLabels) = ReadPair(files.TestImages, files.TestLabels);
        if (!trainShape.AsSpan(1).SequenceEqual(testShape.AsSpan(1)))
            throw new DatasetException($"{files.TestImages}: images are {Dims(testShape)} but the training images are {Dims(trainShape)}");
        bool colour = trainShape[1] == 3;
        try
        {
            (trainPix, trainShape) = ImageTransform.ConvertAll(trainPix, trainShape, options.Channels, options.ImageSize);
            (testPix, testShape) = ImageTransform.ConvertAll(testPix, testShape, options.Channels, options.ImageSize);
            if (colour && trainShape[1] == 3 && options.ChannelOrder is { } order)
            {
                ChannelOrder.Apply(trainPix, trainShape[0], 3, trainShape[2] * trainShape[3], order);
                ChannelOrder.Apply(testPix, testShape[0], 3, testShape[2] * testShape[3], order);
            }
        }
        catch (DatasetException e) { throw new DatasetException($"{files.TrainImages}: {e.Message}", e); }

        int classes;
        if (spec.KnownClassCount is int known)
        {
            CheckLabels(files.TrainLabels, trainLabels, known, spec.Name);
            CheckLabels(files.TestLabels, testLabels, known, spec.Name);
            classes = known;
        }
        else
        {
            classes = Math.Max(trainLabels.DefaultIfEmpty().Max(), testLabels.DefaultIfEmpty().Max()) + 1;
        }

        var norm = options.Normalization
                   ?? (options.ComputeNormalization || spec.DefaultNormalization is null
                       ? ComputeFrom(trainPix, trainShape, files.TrainImages)
                       : spec.DefaultNormalization);
        var train = ImageDataset.FromBytes(trainPix, trainShape, trainLabels, classes, norm, spec.ClassNames);
        var test = ImageDataset.FromBytes(testPix, testShape, testLabels, classes, norm, spec.ClassNames);
        ImageDataset? validation = null;
        if (options.ValidationCount > 0)
        {
            if (options.ValidationCount >= train.Count)
                throw new DatasetException($"{spec}: validation count {options.ValidationCount} must be smaller than the {train.Count} training samples");
            (train, validation) = train.SplitValidation(options.ValidationCount, options.ValidationSeed);
        }
        return new DatasetSplits(spec, train, validation, test, norm);
    }

    private static (byte[] Pixels, int[] Shape, int[] Labels) ReadPair(string imagesPath, string labelsPath)
    {
        var images = IdxReader.ReadImages(imagesPath);
        var labelBytes = IdxReader.ReadLabels(labelsPath);
        var d = images.Dimensions;
        int[] shape = d.Count == 3 ? new[] { d[0], 1, d[1], d[2] } : d.ToArray();
        if (shape[0] != labelBytes.Length)
            throw new DatasetException($"{labelsPath}: has {labelBytes.Length} labels but {Path.GetFileName(imagesPath)} has {shape[0]} images");
        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++) labels[i] = labelBytes[i];
        return (images.Data, shape, labels);
    }

    private static void CheckLabels(string path, int[] labels, int classes, string name)
    {
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= classes)
                throw new DatasetException($"{path}: label {labels[i]} at index {i} is out of range for {name} ({classes} classes)");
    }

    private static Normalization ComputeFrom(byte[] pixels, int[] shape, string path)
    {
        if (shape[0] == 0 || shape[1] * shape[2] * shape[3] == 0)
            throw new DatasetException($"{path}: no training pixels to compute the normalisation from");
        return Normalization.FromPixels(pixels, shape[1], shape[2] * shape[3]);
    }

    private static string Dims(int[] shape) => string.Join("x", shape.Skip(1));
}
