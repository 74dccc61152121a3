namespace DeepShrink.Data;

/// <summary>The families of dataset a <see cref="DatasetSpec"/> can name.</summary>
public enum DatasetKind
{
    /// <summary>Fashion-MNIST (Xiao et al., 2017): 10 clothing classes, 28x28 grey images.</summary>
    FashionMnist,
    /// <summary>MNIST handwritten digits (LeCun et al., 1998).</summary>
    Mnist,
    /// <summary>Any directory with the four standard IDX files.</summary>
    Idx,
    /// <summary>A directory of JPEG/PNG/BMP images in one sub-folder per class (see <see cref="ImageFolderReader"/>).</summary>
    ImageFolder,
}
