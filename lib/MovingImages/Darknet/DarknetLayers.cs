namespace MovingImages.Darknet;

/// <summary>Activation functions darknet names in its <c>.cfg</c> files.</summary>
public enum Activation
{
    /// <summary>Identity.</summary>
    Linear,
    /// <summary>Leaky ReLU with slope 0.1 (darknet's "leaky").</summary>
    Leaky,
    /// <summary>ReLU.</summary>
    Relu,
    /// <summary>Logistic sigmoid.</summary>
    Logistic,
    /// <summary>Mish: x·tanh(softplus(x)).</summary>
    Mish,
    /// <summary>Swish: x·sigmoid(x).</summary>
    Swish,
}

/// <summary>The <c>[net]</c> section: the network's input size and the training options it carries.</summary>
/// <param name="Width">Input width in pixels.</param>
/// <param name="Height">Input height in pixels.</param>
/// <param name="Channels">Input channels (3 for RGB).</param>
/// <param name="Options">Every key of the section, as written (training options included).</param>
public sealed record NetOptions(int Width, int Height, int Channels, IReadOnlyDictionary<string, string> Options);

/// <summary>One layer of a darknet network: a section of the <c>.cfg</c> after <c>[net]</c>.</summary>
/// <param name="Index">The layer's index (0 = the first section after <c>[net]</c>), as darknet counts.</param>
/// <param name="Line">The line of the <c>.cfg</c> where its section starts.</param>
public abstract record DarknetLayer(int Index, int Line)
{
    /// <summary>The section name, e.g. "convolutional".</summary>
    public abstract string Kind { get; }
}

/// <summary><c>[convolutional]</c>: a 2-D convolution, optionally batch-normalised, then an activation.</summary>
public sealed record ConvolutionalLayer(int Index, int Line, int Filters, int Size, int Stride, int Padding,
    bool BatchNormalize, Activation Activation) : DarknetLayer(Index, Line)
{
    /// <inheritdoc/>
    public override string Kind => "convolutional";
}

/// <summary><c>[shortcut]</c>: adds the output of layer <see cref="From"/> (absolute index) to the previous layer's output.</summary>
public sealed record ShortcutLayer(int Index, int Line, int From, Activation Activation) : DarknetLayer(Index, Line)
{
    /// <inheritdoc/>
    public override string Kind => "shortcut";
}

/// <summary><c>[route]</c>: concatenates the outputs of <see cref="Layers"/> (absolute indices) along channels.</summary>
public sealed record RouteLayer(int Index, int Line, IReadOnlyList<int> Layers) : DarknetLayer(Index, Line)
{
    /// <inheritdoc/>
    public override string Kind => "route";
}

/// <summary><c>[upsample]</c>: nearest-neighbour upsampling by <see cref="Stride"/>.</summary>
public sealed record UpsampleLayer(int Index, int Line, int Stride) : DarknetLayer(Index, Line)
{
    /// <inheritdoc/>
    public override string Kind => "upsample";
}

/// <summary>
/// <c>[maxpool]</c>. Darknet pads with <see cref="Padding"/> = size−1 by default, <c>Padding/2</c> before and the
/// rest after, so yolov3-tiny's size=2 stride=1 layer keeps the size and yolov3-spp's 5/9/13 pools keep it too.
/// </summary>
public sealed record MaxPoolLayer(int Index, int Line, int Size, int Stride, int Padding) : DarknetLayer(Index, Line)
{
    /// <inheritdoc/>
    public override string Kind => "maxpool";
}

/// <summary><c>[yolo]</c>: a detection head over the previous layer's output.</summary>
/// <param name="Index">Layer index.</param>
/// <param name="Line">Line of the section.</param>
/// <param name="Mask">Which of <see cref="AllAnchors"/> this head uses.</param>
/// <param name="AllAnchors">Every anchor (width, height) in network-input pixels, as listed in the cfg.</param>
/// <param name="Classes">Number of classes.</param>
public sealed record YoloLayer(int Index, int Line, IReadOnlyList<int> Mask, IReadOnlyList<(float Width, float Height)> AllAnchors,
    int Classes) : DarknetLayer(Index, Line)
{
    /// <inheritdoc/>
    public override string Kind => "yolo";

    /// <summary>The anchors this head predicts, in mask order.</summary>
    public IReadOnlyList<(float Width, float Height)> Anchors => Mask.Select(m => AllAnchors[m]).ToArray();

    /// <summary>Channels each cell of the head's input has per anchor: x, y, w, h, objectness, then the classes.</summary>
    public int ValuesPerAnchor => 5 + Classes;
}

/// <summary>The shape of one layer's output for one image: channels × height × width.</summary>
public readonly record struct LayerShape(int Channels, int Height, int Width)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Channels}×{Height}×{Width}";
}
