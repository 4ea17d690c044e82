using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace MovingImages.Tests.Runtime;

/// <summary>
/// No C# number becomes a TorchSharp <c>Scalar</c> implicitly in our code: such a Scalar is not tracked by dispose scopes
/// and is freed by the GC's finalizer thread, possibly while libtorch still reads it (see <c>MovingImages.Runtime.Scalars</c>).
/// The test reads the IL of our compiled assemblies and fails on every call to <c>Scalar.op_Implicit</c>, and on every call
/// to a TorchSharp method that converts its own arguments that way (<c>Tensor * float</c>, <c>Tensor + int</c>, …: found by
/// reading TorchSharp's IL the same way).
/// </summary>
public class ImplicitScalarTests
{
    /// <summary>Methods allowed to convert implicitly, each with its reason (method name as "Type::Method").</summary>
    static readonly Dictionary<string, string> Allowed = new()
    {
        ["MovingImages.FaceSwap.AdamStep::Apply"] = "optimizers other than Adam keep TorchSharp's step (only the loss scaler's unit test uses one, SGD)",
    };

    static readonly string[] Assemblies = ["MovingImages.dll", "MovingImages.Interactive.dll", "MovingImages.Cli.dll"];

    static readonly Lazy<HashSet<string>> ConvertingTorchSharpMethods = new(() =>
    {
        using var pe = new PEReader(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll")));
        var md = pe.GetMetadataReader();
        var implicitScalar = new HashSet<int>();
        foreach (var typeHandle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(typeHandle);
            if (FullName(md, type) != "TorchSharp.Scalar") continue;
            foreach (var m in type.GetMethods())
                if (md.GetString(md.GetMethodDefinition(m).Name) == "op_Implicit") implicitScalar.Add(MetadataTokens.GetToken(m));
        }
        Assert.NotEmpty(implicitScalar);
        // A method converts if it calls op_Implicit, or calls (within TorchSharp) a method that converts: Tensor + Tensor
        // is add(Tensor), which is add(target, 1) with an implicit alpha.
        var methods = Methods(md).ToList();
        var calls = methods.ToDictionary(m => m.Token, m => Calls(pe, m.Method).Select(c => Math.Abs(c.Token)).Distinct().ToArray());
        var converting = new HashSet<int>(implicitScalar);
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var m in methods)
                if (!converting.Contains(m.Token) && calls[m.Token].Any(converting.Contains)) grew = converting.Add(m.Token) | grew;
        }
        return methods.Where(m => converting.Contains(m.Token)).Select(m => m.Key).ToHashSet(StringComparer.Ordinal);
    });

    /// <summary>TorchSharp's virtual methods ("Type::Name(ParameterTypes)"): a call to one may run an override.</summary>
    static readonly Lazy<HashSet<string>> VirtualTorchSharpMethods = new(() =>
    {
        using var pe = new PEReader(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll")));
        var md = pe.GetMetadataReader();
        var virtuals = new HashSet<string>(StringComparer.Ordinal);
        foreach (var typeHandle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(typeHandle);
            foreach (var methodHandle in type.GetMethods())
            {
                var method = md.GetMethodDefinition(methodHandle);
                if ((method.Attributes & MethodAttributes.Virtual) == 0 || (method.Attributes & MethodAttributes.Final) != 0) continue;
                virtuals.Add($"{FullName(md, type)}::{md.GetString(method.Name)}({string.Join(",", method.DecodeSignature(Names.Instance, null).ParameterTypes)})");
            }
        }
        return virtuals;
    });

    [Fact]
    public void Our_assemblies_never_convert_a_number_to_a_Scalar_implicitly()
    {
        var found = new List<string>();
        foreach (string name in Assemblies)
        {
            string path = Path.Combine(AppContext.BaseDirectory, name);
            Assert.True(File.Exists(path), $"{path} is missing");
            found.AddRange(ImplicitScalarCalls(path).Where(site => !Allowed.ContainsKey(site.Split(" (")[0])).Select(site => $"{name}: {site}"));
        }
        Assert.True(found.Count == 0, $"{found.Count} implicit Scalar conversions (use MovingImages.Runtime.Scalars or a disposed ToScalar()):\n" + string.Join("\n", found));
    }

    [Fact]
    public void The_scan_finds_implicit_conversions_where_there_are_some()
    {
        // This test assembly converts implicitly below, in both ways, so the scanner must see both.
        Assert.Contains("TorchSharp.torch+Tensor::op_Multiply(TorchSharp.torch+Tensor,Single)", ConvertingTorchSharpMethods.Value);
        var sites = ImplicitScalarCalls(typeof(ImplicitScalarTests).Assembly.Location).ToList();
        string me = typeof(ImplicitScalarTests).FullName!;
        Assert.Contains(sites, s => s.StartsWith($"{me}::{nameof(Direct)} ", StringComparison.Ordinal) && s.Contains("Scalar::op_Implicit"));
        Assert.Contains(sites, s => s.StartsWith($"{me}::{nameof(Inside)} ", StringComparison.Ordinal) && s.Contains("op_Multiply"));
        Assert.Contains(sites, s => s.StartsWith($"{me}::{nameof(Deeper)} ", StringComparison.Ordinal) && s.Contains("op_Addition"));
        Assert.Contains(sites, s => s.StartsWith($"{me}::{nameof(Overridden)} ", StringComparison.Ordinal) && s.Contains("step"));
        Assert.DoesNotContain(sites, s => s.StartsWith($"{me}::{nameof(Held)} ", StringComparison.Ordinal));
    }

    static TorchSharp.torch.Tensor Direct(TorchSharp.torch.Tensor x) => x.mul(2.5);
    static TorchSharp.torch.Tensor Inside(TorchSharp.torch.Tensor x) => x * 2.5f;
    static TorchSharp.torch.Tensor Deeper(TorchSharp.torch.Tensor x) => x + x;                     // add(x) is add(x, 1)
    static void Overridden(TorchSharp.torch.optim.Optimizer o) => o.step();                        // Adam.step converts in a lambda
    static TorchSharp.torch.Tensor Held(TorchSharp.torch.Tensor x) => x.mul(MovingImages.Runtime.Scalars.ByteMax);

    /// <summary>"Type::Method (IL offset: what it calls)" of every implicit Scalar conversion in the assembly.</summary>
    static IEnumerable<string> ImplicitScalarCalls(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var converting = new Dictionary<int, string>();
        var overridden = new Dictionary<int, string>(); // a virtual call may land in any TorchSharp override of that name and signature
        var convertingNames = ConvertingTorchSharpMethods.Value.Select(k => k[(k.IndexOf("::", StringComparison.Ordinal) + 2)..]).ToHashSet(StringComparer.Ordinal);
        foreach (var handle in md.MemberReferences)
        {
            var member = md.GetMemberReference(handle);
            if (member.GetKind() != MemberReferenceKind.Method || ParentName(md, member.Parent) is not { } parent || !parent.StartsWith("TorchSharp.", StringComparison.Ordinal)) continue;
            string nameAndSignature = $"{md.GetString(member.Name)}({string.Join(",", member.DecodeMethodSignature(Names.Instance, null).ParameterTypes)})";
            string key = $"{parent}::{nameAndSignature}";
            if (key.StartsWith("TorchSharp.Scalar::op_Implicit(", StringComparison.Ordinal) || ConvertingTorchSharpMethods.Value.Contains(key))
                converting[MetadataTokens.GetToken(handle)] = key;
            else if (convertingNames.Contains(nameAndSignature) && VirtualTorchSharpMethods.Value.Contains(key))
                overridden[MetadataTokens.GetToken(handle)] = key + ", whose overrides convert";
        }
        foreach (var (typeName, method, _, _) in Methods(md))
            foreach (var call in Calls(pe, method))
            {
                if (call.Token > 0 && converting.TryGetValue(call.Token, out var what)
                    || call.Token < 0 && (converting.TryGetValue(-call.Token, out what) || overridden.TryGetValue(-call.Token, out what)))
                    yield return $"{typeName}::{md.GetString(method.Name)} (IL_{call.Offset:x4}: {what})";
            }
    }

    /// <summary>Every method with a body: its type's name, the method, "Type::Name(ParameterTypes)" and its token.</summary>
    static IEnumerable<(string Type, MethodDefinition Method, string Key, int Token)> Methods(MetadataReader md)
    {
        foreach (var typeHandle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(typeHandle);
            string typeName = FullName(md, type);
            foreach (var methodHandle in type.GetMethods())
            {
                var method = md.GetMethodDefinition(methodHandle);
                if (method.RelativeVirtualAddress == 0) continue;
                var parameters = method.DecodeSignature(Names.Instance, null).ParameterTypes;
                yield return (typeName, method, $"{typeName}::{md.GetString(method.Name)}({string.Join(",", parameters)})", MetadataTokens.GetToken(methodHandle));
            }
        }
    }

    /// <summary>The call, callvirt (token negated), newobj, ldftn and ldvirtftn instructions of a method body: IL offset and method token.</summary>
    static List<(int Offset, int Token)> Calls(PEReader pe, MethodDefinition method)
    {
        var calls = new List<(int, int)>();
        var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader();
        while (il.RemainingBytes > 0)
        {
            int offset = il.Offset;
            var opCode = ReadOpCode(ref il);
            if (opCode.OperandType == OperandType.InlineMethod)
            {
                int token = il.ReadInt32();
                // ldftn/ldvirtftn: a lambda handed to another method (Adam.step runs its update in one) counts as a call.
                if (opCode == OpCodes.Call || opCode == OpCodes.Callvirt || opCode == OpCodes.Newobj || opCode == OpCodes.Ldftn || opCode == OpCodes.Ldvirtftn)
                    calls.Add((offset, opCode == OpCodes.Callvirt ? -token : token));
            }
            else SkipOperand(ref il, opCode.OperandType);
        }
        return calls;
    }

    static string? ParentName(MetadataReader md, EntityHandle parent) => parent.Kind switch
    {
        HandleKind.TypeReference => Names.Reference(md, (TypeReferenceHandle)parent),
        HandleKind.TypeSpecification => md.GetTypeSpecification((TypeSpecificationHandle)parent).DecodeSignature(Names.Instance, null),
        _ => null,
    };

    static string FullName(MetadataReader md, TypeDefinition type)
    {
        string name = md.GetString(type.Name);
        if (type.GetDeclaringType() is { IsNil: false } outer) return FullName(md, md.GetTypeDefinition(outer)) + "+" + name;
        string ns = md.GetString(type.Namespace);
        return ns.Length > 0 ? $"{ns}.{name}" : name;
    }

    /// <summary>Type names from signatures, the same whether a type is defined in the assembly or referenced from another.</summary>
    sealed class Names : ISignatureTypeProvider<string, object?>
    {
        public static readonly Names Instance = new();
        public static string Reference(MetadataReader md, TypeReferenceHandle handle)
        {
            var type = md.GetTypeReference(handle);
            string name = md.GetString(type.Name);
            if (type.ResolutionScope.Kind == HandleKind.TypeReference) return Reference(md, (TypeReferenceHandle)type.ResolutionScope) + "+" + name;
            string ns = md.GetString(type.Namespace);
            return ns.Length > 0 ? $"{ns}.{name}" : name;
        }
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => FullName(reader, reader.GetTypeDefinition(handle));
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => Reference(reader, handle);
        public string GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetArrayType(string elementType, ArrayShape shape) => $"{elementType}[{new string(',', shape.Rank - 1)}]";
        public string GetByReferenceType(string elementType) => elementType + "&";
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetPinnedType(string elementType) => elementType;
        public string GetGenericInstantiation(string genericType, System.Collections.Immutable.ImmutableArray<string> typeArguments) => $"{genericType}<{string.Join(",", typeArguments)}>";
        public string GetGenericMethodParameter(object? genericContext, int index) => $"!!{index}";
        public string GetGenericTypeParameter(object? genericContext, int index) => $"!{index}";
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
    }

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    static OpCode ReadOpCode(ref BlobReader il)
    {
        byte first = il.ReadByte();
        short value = first == 0xFE ? unchecked((short)(0xFE00 | il.ReadByte())) : first;
        return OpCodesByValue.TryGetValue(value, out var op) ? op : throw new InvalidDataException($"unknown IL opcode 0x{value:x}");
    }

    static void SkipOperand(ref BlobReader il, OperandType operand)
    {
        switch (operand)
        {
            case OperandType.InlineNone: break;
            case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: il.Offset += 1; break;
            case OperandType.InlineVar: il.Offset += 2; break;
            case OperandType.InlineI8 or OperandType.InlineR: il.Offset += 8; break;
            case OperandType.InlineSwitch: int targets = il.ReadInt32(); il.Offset += 4 * targets; break;
            default: il.Offset += 4; break; // tokens, 32-bit branches and constants, float32
        }
    }
}
