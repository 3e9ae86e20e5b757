# The chapter's MNIST training code (../shared/seeds/cnn-basics-chapter1.txt, section 1.6),
# unchanged but for the imports: tatamikomi stands in for torch and torchvision.
# Run offline from a local copy of the raw files:
#     TATAMIKOMI_DATA=../shared/datasets/mnist python examples/mnist.py
import tatamikomi as torch
import tatamikomi.nn as nn
import tatamikomi.nn.functional as F
from tatamikomi.utils.data import DataLoader
from tatamikomi.vision import datasets, transforms


# シンプルなCNNモデル
class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()
        # 畳み込み層1: 1ch → 32ch, 3×3カーネル
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        # 畳み込み層2: 32ch → 64ch, 3×3カーネル
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        # 全結合層
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        # その他
        self.pool = nn.MaxPool2d(2, 2)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        # Conv1 → ReLU → MaxPool
        x = self.pool(F.relu(self.conv1(x)))  # 28×28 → 14×14
        # Conv2 → ReLU → MaxPool
        x = self.pool(F.relu(self.conv2(x)))  # 14×14 → 7×7
        # 平坦化
        x = x.view(-1, 64 * 7 * 7)
        # 全結合層
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        x = self.fc2(x)
        return x


if __name__ == "__main__":
    import tatamikomi.optim as optim

    # モデルのインスタンス化
    model = SimpleCNN()

    # モデル構造の表示
    print("=== SimpleCNN のアーキテクチャ ===\n")
    print(model)

    # パラメータ数の計算
    total_params = sum(p.numel() for p in model.parameters())
    trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"\n総パラメータ数: {total_params:,}")
    print(f"学習可能パラメータ数: {trainable_params:,}")

    # データの前処理
    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,))  # MNISTの平均・標準偏差
    ])

    # データセットの読み込み(ダウンロードは初回のみ)
    train_dataset = datasets.MNIST('./data', train=True, download=True, transform=transform)
    test_dataset = datasets.MNIST('./data', train=False, transform=transform)

    # データローダーの作成
    train_loader = DataLoader(train_dataset, batch_size=64, shuffle=True)
    test_loader = DataLoader(test_dataset, batch_size=1000, shuffle=False)

    # 学習の設定
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    model = SimpleCNN().to(device)
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    criterion = nn.CrossEntropyLoss()

    # 学習関数
    def train_epoch(model, train_loader, optimizer, criterion, device):
        model.train()
        running_loss = 0.0
        correct = 0
        total = 0

        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)

            optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()

            running_loss += loss.item()
            _, predicted = output.max(1)
            total += target.size(0)
            correct += predicted.eq(target).sum().item()

        avg_loss = running_loss / len(train_loader)
        accuracy = 100. * correct / total
        return avg_loss, accuracy

    # 評価関数
    def evaluate(model, test_loader, criterion, device):
        model.eval()
        test_loss = 0
        correct = 0

        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += criterion(output, target).item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader)
        accuracy = 100. * correct / len(test_loader.dataset)
        return test_loss, accuracy

    # 学習実行(簡略版:3エポック)
    print("\n=== 学習開始 ===\n")
    num_epochs = 3

    for epoch in range(num_epochs):
        train_loss, train_acc = train_epoch(model, train_loader, optimizer, criterion, device)
        test_loss, test_acc = evaluate(model, test_loader, criterion, device)

        print(f"Epoch {epoch+1}/{num_epochs}")
        print(f"  Train Loss: {train_loss:.4f}, Train Acc: {train_acc:.2f}%")
        print(f"  Test Loss: {test_loss:.4f}, Test Acc: {test_acc:.2f}%\n")

    print("学習完了!")
