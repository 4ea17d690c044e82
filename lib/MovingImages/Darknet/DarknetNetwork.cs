using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MovingImages.Darknet;

/// <summary>
/// A darknet network (YOLOv3, YOLOv3-tiny, YOLOv3-SPP…) as a TorchSharp module, built layer by layer from a
/// <see cref="DarknetConfig"/>. <c>forward</c> takes a batch of images (N×3×H×W, RGB in [0,1], H and W multiples
/// of the network stride) and returns each <c>[yolo]</c> head's raw input (N×A·(5+C)×h×w), before any logistic.
/// </summary>
public sealed class DarknetNetwork : nn.Module<Tensor, Tensor[]>
{
    readonly DarknetConfig _config;
    readonly nn.Module<Tensor, Tensor>?[] _ops;
    readonly int[] _lastUse;

    DarknetNetwork(DarknetConfig config, nn.Module<Tensor, Tensor>?[] ops) : base("darknet")
    {
        _config = config;
        _ops = ops;
        for (int i = 0; i < ops.Length; i++)
            if (ops[i] is { } op) register_module($"layer{i}", op);
        _lastUse = LastUses(config);
    }

    /// <summary>The config this network was built from.</summary>
    public DarknetConfig Config => _config;

    /// <summary>Whether batch norm was folded into the convolutions (inference form).</summary>
    public bool BatchNormFolded { get; private init; }

    /// <summary>
    /// Builds the network. With <paramref name="weights"/> the parameters are loaded from them (batch norm folded into
    /// the convolution when <paramref name="foldBatchNorm"/>, as for inference); without, they are left as initialised.
    /// </summary>
    public static DarknetNetwork Create(DarknetConfig config, DarknetWeights? weights = null, bool foldBatchNorm = true)
    {
        var inputs = config.ConvolutionInputChannels();
        var convs = config.ConvolutionalLayers;
        if (weights != null && weights.Layers.Count != convs.Count)
            throw new ArgumentException($"the weights have {weights.Layers.Count} convolutional layers, {config.Source} has {convs.Count}");
        var ops = new nn.Module<Tensor, Tensor>?[config.Layers.Count];
        int convIndex = 0;
        using var noGrad = torch.no_grad();
        foreach (var layer in config.Layers)
        {
            ops[layer.Index] = layer switch
            {
                ConvolutionalLayer c => new ConvBlock(c, inputs[convIndex], weights?.Layers[convIndex], foldBatchNorm),
                UpsampleLayer u => new Upsample(u.Stride),
                MaxPoolLayer m => new MaxPool(m),
                _ => null,
            };
            if (layer is ConvolutionalLayer) convIndex++;
        }
        var net = new DarknetNetwork(config, ops) { BatchNormFolded = foldBatchNorm };
        net.eval();
        return net;
    }

    /// <summary>
    /// Runs the network once, timing each layer (CPU work is synchronous, so a stopwatch around a layer measures it);
    /// returns milliseconds per layer, in layer order. The heads are disposed.
    /// </summary>
    public double[] ProfileLayers(Tensor input)
    {
        var ms = new double[_config.Layers.Count];
        _layerDone = (i, elapsed) => ms[i] += elapsed;
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            forward(input);
        }
        finally
        {
            _layerDone = null;
        }
        return ms;
    }

    Action<int, double>? _layerDone;

    /// <summary>Runs the network; returns one raw tensor per <c>[yolo]</c> head, in file order.</summary>
    public override Tensor[] forward(Tensor input)
    {
        var layers = _config.Layers;
        var timer = _layerDone;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outputs = new Tensor?[layers.Count];
        var heads = new List<Tensor>();
        Tensor x = input;
        for (int i = 0; i < layers.Count; i++)
        {
            Tensor y = layers[i] switch
            {
                ConvolutionalLayer or UpsampleLayer or MaxPoolLayer => _ops[i]!.call(x),
                ShortcutLayer s => Activate(Runtime.Scalars.Sum(x, outputs[s.From]!), s.Activation),
                RouteLayer r => r.Layers.Count == 1 ? outputs[r.Layers[0]]!.alias() : torch.cat(r.Layers.Select(l => outputs[l]!).ToArray(), 1),
                YoloLayer => x.alias(),
                _ => throw new InvalidOperationException(layers[i].Kind),
            };
            if (layers[i] is YoloLayer) heads.Add(y);
            if (timer != null)
            {
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                timer(i, System.Diagnostics.Stopwatch.GetElapsedTime(started, now).TotalMilliseconds);
                started = now;
            }
            outputs[i] = y;
            x = y;
            // Free what no later layer reads (keeps peak memory near the widest layer, not the whole network).
            for (int j = 0; j < i; j++)
            {
                if (outputs[j] is { } o && _lastUse[j] <= i && layers[j] is not YoloLayer)
                {
                    o.Dispose();
                    outputs[j] = null;
                }
            }
        }
        for (int j = 0; j < outputs.Length; j++)
            if (outputs[j] is { } o && layers[j] is not YoloLayer) o.Dispose();
        return heads.ToArray();
    }

    /// <summary>For each layer, the last layer that reads its output.</summary>
    static int[] LastUses(DarknetConfig config)
    {
        var last = new int[config.Layers.Count];
        for (int i = 0; i < last.Length; i++) last[i] = i + 1; // the next layer reads it
        foreach (var layer in config.Layers)
        {
            IEnumerable<int> reads = layer switch
            {
                ShortcutLayer s => [s.From],
                RouteLayer r => r.Layers,
                _ => [],
            };
            foreach (var r in reads) last[r] = Math.Max(last[r], layer.Index);
        }
        return last;
    }

    internal static Tensor Activate(Tensor x, Activation activation) => activation switch
    {
        Activation.Linear => x,
        Activation.Leaky => Runtime.Scalars.LeakyRelu(x),
        Activation.Relu => F.relu(x),
        Activation.Logistic => F.sigmoid(x),
        Activation.Mish => x * x.exp().log1p().tanh(), // x · tanh(softplus(x)); F.mish and F.softplus take their numbers as implicit Scalars
        Activation.Swish => x * F.sigmoid(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };

    /// <summary>Convolution (+ batch norm unless folded) + activation.</summary>
    internal sealed class ConvBlock : nn.Module<Tensor, Tensor>
    {
        /// <summary>Darknet divides by sqrt(variance) + 1e-6 (not sqrt(variance + eps)).</summary>
        internal const float DarknetBatchNormEpsilon = 1e-6f;

        readonly ConvolutionalLayer _layer;
        readonly Parameter weight;
        readonly Parameter? bias;
        readonly BatchNorm2d? bn;

        public ConvBlock(ConvolutionalLayer layer, int inputChannels, ConvWeights? w, bool fold) : base($"conv{layer.Index}")
        {
            _layer = layer;
            long[] shape = [layer.Filters, inputChannels, layer.Size, layer.Size];
            bool separateBatchNorm = layer.BatchNormalize && !fold;
            if (w == null)
            {
                using (var scope = torch.NewDisposeScope())
                    weight = new Parameter(Runtime.Scalars.Mul(torch.randn(shape), MathF.Sqrt(2f / (inputChannels * layer.Size * layer.Size))).MoveToOuterDisposeScope());
                bias = separateBatchNorm ? null : new Parameter(torch.zeros(layer.Filters));
            }
            else if (!layer.BatchNormalize || separateBatchNorm)
            {
                weight = new Parameter(torch.tensor(w.Kernel, shape));
                bias = separateBatchNorm ? null : new Parameter(torch.tensor(w.Biases));
            }
            else
            {
                // Fold: y = γ (Wx − μ) / (σ + 1e-6) + β  =  (W·s) x + (β − μ·s),  s = γ / (σ + 1e-6).
                var bnw = w.BatchNorm!;
                var scale = new float[layer.Filters];
                var folded = new float[layer.Filters];
                for (int f = 0; f < layer.Filters; f++)
                {
                    scale[f] = bnw.Scales[f] / (MathF.Sqrt(bnw.RollingVariance[f]) + DarknetBatchNormEpsilon);
                    folded[f] = w.Biases[f] - bnw.RollingMean[f] * scale[f];
                }
                var kernel = (float[])w.Kernel.Clone();
                int per = inputChannels * layer.Size * layer.Size;
                for (int f = 0; f < layer.Filters; f++)
                    for (int k = 0; k < per; k++) kernel[f * per + k] *= scale[f];
                weight = new Parameter(torch.tensor(kernel, shape));
                bias = new Parameter(torch.tensor(folded));
            }
            if (separateBatchNorm)
            {
                bn = nn.BatchNorm2d(layer.Filters, eps: 1e-5, momentum: 1.0);
                if (w?.BatchNorm is { } b)
                {
                    bn.weight!.copy_(torch.tensor(b.Scales));
                    bn.bias!.copy_(torch.tensor(w.Biases));
                    bn.running_mean!.copy_(torch.tensor(b.RollingMean));
                    bn.running_var!.copy_(torch.tensor(b.RollingVariance));
                }
            }
            RegisterComponents();
        }

        /// <summary>The unfolded batch-norm module (only when built with foldBatchNorm = false).</summary>
        public BatchNorm2d? BatchNorm => bn;
        public Parameter Weight => weight;
        public Parameter? Bias => bias;

        public override Tensor forward(Tensor x)
        {
            long p = _layer.Padding;
            var y = Nn.Convolution.Conv2d(x, weight, bias, stride: _layer.Stride, padding: (int)p);
            if (bn != null) y = bn.call(y);
            return Activate(y, _layer.Activation);
        }
    }

    /// <summary>Nearest-neighbour upsampling by an integer factor.</summary>
    sealed class Upsample(int stride) : nn.Module<Tensor, Tensor>("upsample")
    {
        public override Tensor forward(Tensor x) =>
            F.interpolate(x, scale_factor: [stride, stride], mode: InterpolationMode.Nearest);
    }

    /// <summary>
    /// Darknet's max pool: −∞ padding of padding/2 before and the rest after. The 2×2 pools (yolov3-tiny's) are the
    /// maximum of four strided views of the input — the same numbers as <c>max_pool2d</c>, about ten times faster on a
    /// CPU for NCHW tensors (libtorch's NCHW max-pool kernel took 8 ms of yolov3-tiny's 50 for its first layer alone) —
    /// and skip the padding when no window reaches it (stride 2 on an even size).
    /// </summary>
    internal sealed class MaxPool(MaxPoolLayer layer) : nn.Module<Tensor, Tensor>("maxpool")
    {
        public override Tensor forward(Tensor x)
        {
            int before = layer.Padding / 2, after = layer.Padding - before;
            long h = x.shape[2], w = x.shape[3];
            long outH = (h + layer.Padding - layer.Size) / layer.Stride + 1, outW = (w + layer.Padding - layer.Size) / layer.Stride + 1;
            if (layer.Size == 2 && before == 0)
            {
                bool padNeeded = (outH - 1) * layer.Stride + 2 > h || (outW - 1) * layer.Stride + 2 > w;
                using var source = padNeeded ? F.pad(x, [0, after, 0, after], PaddingModes.Constant, double.NegativeInfinity) : x.alias();
                return Nn.Pooling.Max2x2(source, layer.Stride, outH, outW);
            }
            using var padded = before + after == 0 ? x.alias()
                : F.pad(x, [before, after, before, after], PaddingModes.Constant, double.NegativeInfinity);
            return F.max_pool2d(padded, [layer.Size, layer.Size], [layer.Stride, layer.Stride]);
        }
    }

    /// <summary>
    /// The classes of convolutions this network computes as it is now (its weights' type and device), forward only:
    /// what the self-check tests at load (<see cref="Nn.ConvolutionRouter.Prepare"/>).
    /// </summary>
    public IEnumerable<Nn.ConvShape> ConvolutionShapes() => ConvBlocks().Select(c => new Nn.ConvShape(
        c.Block.Weight.shape[1], c.Layer.Filters, c.Layer.Size, c.Layer.Size, Nn.ConvGeometry.Square(c.Layer.Stride, c.Layer.Padding),
        c.Block.Weight.dtype, Device: c.Block.Weight.device_type));

    /// <summary>
    /// Checks libtorch's convolutions for every class this network uses (<see cref="ConvolutionShapes"/>) against an
    /// independent reference, once per class and process, so a class libtorch computes wrong on this CPU takes a route
    /// that is right before the first frame; returns the time it took (zero when all were checked before).
    /// </summary>
    public TimeSpan CheckConvolutions() => Nn.ConvolutionRouter.Current.Prepare(ConvolutionShapes());

    /// <summary>The convolution blocks in layer order (for calibration and inspection).</summary>
    internal IEnumerable<(ConvolutionalLayer Layer, ConvBlock Block)> ConvBlocks() =>
        _config.Layers.OfType<ConvolutionalLayer>().Select(c => (c, (ConvBlock)_ops[c.Index]!));
}
