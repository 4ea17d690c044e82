using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using MovingImages.Runtime;
using MovingImages.Nn;

namespace MovingImages.FaceSwap;

/// <summary>
/// The sizes of the faceswap "Original" autoencoder. The defaults are the chapter's Keras model: 64×64×3 input,
/// convolutions of 128, 256, 512, 1024 filters, a 1024-wide dense bottleneck.
/// </summary>
/// <param name="ImageSize">Side of the face crops the model sees (a multiple of 16).</param>
/// <param name="EncoderDim">Width of the dense bottleneck.</param>
/// <param name="Filters">Filters of the first convolution; the others are 2×, 4×, 8× that, the decoder's 2×, 1×, ½×.</param>
/// <param name="View">How much of the face the model sees, in template squares (1: brows to lower lip, faceswap's legacy
/// coverage; 1 to 1.5). Training and conversion both take it from here, so they crop the same way.</param>
public sealed record FaceSwapModelOptions(int ImageSize = 64, int EncoderDim = 1024, int Filters = 128, double View = FaceSwapModelOptions.DefaultView)
{
    /// <summary>The chapter's model.</summary>
    public static FaceSwapModelOptions Default { get; } = new();

    /// <summary>
    /// How much of the face the model sees by default: the template square (brows to lower lip — faceswap's legacy
    /// 62.5 % coverage) grown by a quarter, so the blend mask can fade out above the brows and below the lips instead
    /// of at a straight edge across them.
    /// </summary>
    public const double DefaultView = 1.25;

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="view"/> is 1 to 1.5 template squares; returns it.</summary>
    public static double ValidateView(double view) => view is >= 1 and <= 1.5 ? view
        : throw new ArgumentException($"view must be 1 to 1.5 template squares (what the model sees of the face), got {view}");

    /// <summary>Throws <see cref="ArgumentException"/> for sizes the architecture cannot take.</summary>
    public FaceSwapModelOptions Validate()
    {
        if (ImageSize < 16 || ImageSize % 16 != 0) throw new ArgumentException($"image size must be a positive multiple of 16, got {ImageSize}");
        if (EncoderDim < 1) throw new ArgumentException($"encoder dim must be positive, got {EncoderDim}");
        if (Filters < 2 || Filters % 2 != 0) throw new ArgumentException($"filters must be an even number ≥ 2, got {Filters}");
        ValidateView(View);
        return this;
    }
}

/// <summary>Depth-to-space by 2, as Keras' PixelShuffler in faceswap and TF's depth_to_space define it:
/// output[c, 2h+i, 2w+j] = input[(2i+j)·C + c, h, w]. The output keeps the input's memory order (channels-last in, channels-last out).</summary>
public sealed class PixelShuffle2() : nn.Module<Tensor, Tensor>("pixel_shuffle")
{
    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], c = x.shape[1] / 4, h = x.shape[2], w = x.shape[3];
        if (Nn.ChannelsLast.Is(x))                                             // in NHWC: [b, h, w, (i, j, c)] → [b, (h, i), (w, j), c]
            return x.permute(0, 2, 3, 1).view(b, h, w, 2, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h * 2, w * 2, c).permute(0, 3, 1, 2);
        return x.view(b, 2, 2, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(b, c, h * 2, w * 2);
    }
}

/// <summary>A Keras-style convolution: TF "same" padding (asymmetric at stride 2), Glorot-uniform kernel, zero bias.</summary>
public sealed class SameConv2d : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter bias;
    readonly int _stride;

    /// <summary>Creates the layer.</summary>
    public SameConv2d(long inChannels, long outChannels, int kernel, int stride = 1) : base($"conv{kernel}x{kernel}")
    {
        _stride = stride;
        weight = new Parameter(torch.empty(outChannels, inChannels, kernel, kernel));
        bias = new Parameter(torch.zeros(outChannels));
        using (torch.no_grad()) nn.init.xavier_uniform_(weight);
        RegisterComponents();
    }

    /// <summary>The arithmetic's type (set through <see cref="FaceSwapModel.Precision"/>); the weights stay float32.</summary>
    public ScalarType ComputeType { get; set; } = ScalarType.Float32;

    /// <summary>Whether inputs are stored channels-last first (set through <see cref="FaceSwapModel.ChannelsLast"/>).</summary>
    public bool ChannelsLastInput { get; set; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        if (ChannelsLastInput) x = Nn.ChannelsLast.Of(x);
        var (input, w, b) = (x.As(ComputeType), weight.As(ComputeType), bias.As(ComputeType));
        return ChannelsLastInput && x.device_type == DeviceType.CPU && TfOps.PreferGemm(x.shape[2], x.shape[3], x.shape[1], (int)weight.shape[2], _stride)
            ? TfOps.ConvSameAsGemm(input, w, b, _stride)
            : TfOps.ConvSame(input, w, b, _stride);
    }
}

/// <summary>The shared encoder: four 5×5 stride-2 convolutions with LeakyReLU 0.1, dense bottleneck, dense back, one upscale.</summary>
public sealed class FaceEncoder : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> convs = new();
    readonly Linear dense1, dense2;
    readonly Upscale upscale;
    readonly long _low, _deep;

    /// <summary>Builds the encoder.</summary>
    public FaceEncoder(FaceSwapModelOptions o) : base("encoder")
    {
        long c = 3;
        foreach (var f in new[] { o.Filters, o.Filters * 2, o.Filters * 4, o.Filters * 8 })
        {
            convs.Add(new SameConv2d(c, f, 5, 2));
            c = f;
        }
        _low = o.ImageSize / 16;
        _deep = o.Filters * 8;
        dense1 = nn.Linear(_deep * _low * _low, o.EncoderDim);
        dense2 = nn.Linear(o.EncoderDim, _deep * _low * _low);
        foreach (var d in new[] { dense1, dense2 })
            using (torch.no_grad()) { nn.init.xavier_uniform_(d.weight); d.bias!.zero_(); }
        upscale = new Upscale(_deep, o.Filters * 4);
        RegisterComponents();
    }

    /// <summary>The dense layers' arithmetic type (set through <see cref="FaceSwapModel.Precision"/>).</summary>
    public ScalarType ComputeType { get; set; } = ScalarType.Float32;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        foreach (var conv in convs) x = Runtime.Scalars.LeakyRelu(conv.call(x));
        x = Dense(dense2, Dense(dense1, x.flatten(1)));
        return upscale.call(x.view(-1, _deep, _low, _low));
    }

    Tensor Dense(Linear layer, Tensor x) => ComputeType == ScalarType.Float32
        ? layer.call(x)
        : F.linear(x.As(ComputeType), layer.weight!.As(ComputeType), layer.bias!.As(ComputeType));
}

/// <summary>An upscale block: 3×3 convolution to 4× the filters, LeakyReLU 0.1, pixel shuffle.</summary>
public sealed class Upscale : nn.Module<Tensor, Tensor>
{
    readonly SameConv2d conv;
    readonly PixelShuffle2 shuffle = new();

    /// <summary>Builds the block.</summary>
    public Upscale(long inChannels, long filters) : base("upscale")
    {
        conv = new SameConv2d(inChannels, filters * 4, 3);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => shuffle.call(Runtime.Scalars.LeakyRelu(conv.call(x)));
}

/// <summary>A decoder: three upscale blocks and a 5×5 convolution to RGB with a sigmoid.</summary>
public sealed class FaceDecoder : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<Upscale> ups = new();
    readonly SameConv2d output;

    /// <summary>Builds a decoder.</summary>
    public FaceDecoder(FaceSwapModelOptions o, string name) : base(name)
    {
        long c = o.Filters * 4;
        foreach (var f in new[] { o.Filters * 2, o.Filters, o.Filters / 2 })
        {
            ups.Add(new Upscale(c, f));
            c = f;
        }
        output = new SameConv2d(c, 3, 5);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        foreach (var up in ups) x = up.call(x);
        return output.call(x).As(ScalarType.Float32).sigmoid();
    }
}

/// <summary>
/// faceswap's "Original" model: one shared encoder and one decoder per person. Training teaches each decoder to rebuild
/// its person's faces from the shared code; swapping is encoding A's face and decoding it with B's decoder.
/// Images are N×3×S×S RGB in [0, 1].
/// </summary>
public sealed class FaceSwapModel : nn.Module
{
    /// <summary>Builds the model (weights initialised as Keras does).</summary>
    public FaceSwapModel(FaceSwapModelOptions? options = null) : base("faceswap")
    {
        Options = (options ?? FaceSwapModelOptions.Default).Validate();
        Encoder = new FaceEncoder(Options);
        DecoderA = new FaceDecoder(Options, "decoder_a");
        DecoderB = new FaceDecoder(Options, "decoder_b");
        register_module("encoder", Encoder);
        register_module("decoder_a", DecoderA);
        register_module("decoder_b", DecoderB);
        ChannelsLast = true;
    }

    /// <summary>
    /// The model a training run with <paramref name="seed"/> starts from (<see cref="TrainingOptions.Seed"/>): seeds
    /// torch's global generator with it, as training does, then builds the model — the same weights in every run and
    /// process, whatever drew random numbers before. The "untrained" model identity is measured against.
    /// </summary>
    public static FaceSwapModel Initial(FaceSwapModelOptions options, int seed)
    {
        torch.random.manual_seed(seed);
        return new FaceSwapModel(options);
    }

    /// <summary>The sizes.</summary>
    public FaceSwapModelOptions Options { get; }

    /// <summary>
    /// The arithmetic of the convolutions and dense layers (float32 by default). The weights stay float32 and outputs
    /// are float32 in [0, 1] in every mode; see <see cref="Runtime.Precision"/>.
    /// </summary>
    public Precision Precision
    {
        get => _precision;
        set
        {
            var type = value.ComputeType();
            foreach (var module in modules())
            {
                if (module is SameConv2d conv) conv.ComputeType = type;
                else if (module is FaceEncoder encoder) encoder.ComputeType = type;
            }
            _precision = value;
        }
    }
    Precision _precision = Precision.Float32;

    /// <summary>
    /// Whether the convolutions work on channels-last (NHWC) activations (default true): oneDNN, libtorch's CPU
    /// convolutions, then skips reordering every activation to its own layout and back, forward and backward. The
    /// numbers are the same up to float rounding; weights, inputs and outputs keep their shapes.
    /// </summary>
    public bool ChannelsLast
    {
        get => _channelsLast;
        set
        {
            foreach (var conv in modules().OfType<SameConv2d>()) conv.ChannelsLastInput = value;
            _channelsLast = value;
        }
    }
    bool _channelsLast;

    /// <summary>The shared encoder.</summary>
    public FaceEncoder Encoder { get; }
    /// <summary>Person A's decoder.</summary>
    public FaceDecoder DecoderA { get; }
    /// <summary>Person B's decoder.</summary>
    public FaceDecoder DecoderB { get; }

    /// <summary>A → A (training A).</summary>
    public Tensor AutoencodeA(Tensor faces) => DecoderA.call(Encoder.call(faces));
    /// <summary>B → B (training B).</summary>
    public Tensor AutoencodeB(Tensor faces) => DecoderB.call(Encoder.call(faces));
    /// <summary>A's face with B's decoder: the swap.</summary>
    public Tensor SwapAToB(Tensor facesA) => DecoderB.call(Encoder.call(facesA));
    /// <summary>B's face with A's decoder.</summary>
    public Tensor SwapBToA(Tensor facesB) => DecoderA.call(Encoder.call(facesB));

    /// <summary>Number of trainable values in a module.</summary>
    public static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());

    /// <summary>A Keras-like summary: each layer's output shape and parameters, per part, and the totals.</summary>
    public string Summary()
    {
        var sb = new StringBuilder();
        int s = Options.ImageSize;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        void Part(string title, nn.Module module, Tensor input)
        {
            sb.AppendLine($"{title}  input {Shape(input)}");
            sb.AppendLine($"  {"layer",-28} {"output",-20} {"parameters",12}");
            var x = input;
            foreach (var (name, child) in Leaves(module))
            {
                x = child switch
                {
                    Linear l when x.dim() > 2 => l.call(x.flatten(1)),
                    nn.Module<Tensor, Tensor> m => m.call(x),
                    _ => x,
                };
                if (child is SameConv2d && name.StartsWith("convs", StringComparison.Ordinal)) x = Runtime.Scalars.LeakyRelu(x);
                if (name == "dense2") x = x.view(-1, Options.Filters * 8, s / 16, s / 16);
                sb.AppendLine($"  {name,-28} {Shape(x),-20} {ParameterCount(child),12:N0}");
            }
            sb.AppendLine($"  {"total",-28} {"",-20} {ParameterCount(module),12:N0}");
        }
        Part("encoder", Encoder, torch.zeros(1, 3, s, s));
        var code = Encoder.call(torch.zeros(1, 3, s, s));
        Part("decoder (each of A and B)", DecoderA, code);
        sb.AppendLine($"model total {ParameterCount(this):N0} (encoder {ParameterCount(Encoder):N0} + 2 × decoder {ParameterCount(DecoderA):N0})");
        return sb.ToString();

        static string Shape(Tensor t) => "(" + string.Join(", ", t.shape.Skip(1).Select(v => v.ToString())) + ")";
        static IEnumerable<(string, nn.Module)> Leaves(nn.Module m) =>
            m.named_children().SelectMany(c => c.module is ModuleList<nn.Module<Tensor, Tensor>> or ModuleList<Upscale>
                ? c.module.named_children().Select(g => ($"{c.name}.{g.name}", g.module))
                : [(c.name, c.module)]);
    }
}
